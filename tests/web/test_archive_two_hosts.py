"""Two hosts, one PostgreSQL store: the web host shows every issue the cron host sent.

The cron host and the web host are two folders and two processes; the web
host has no digests/ folder at all. Needs NEWSLETTER_TEST_POSTGRES_URL (skips
with the reason when it is absent; CI sets it).
"""

from __future__ import annotations

import re
import signal
from collections.abc import Callable
from pathlib import Path

import httpx2
from sqlalchemy.engine import URL

from newsletter.digest import load_digest
from tests.store.conftest import postgres_admin
from tests.transports.harness import free_port
from tests.web.archive_project import SAMPLES, ArchiveProject
from tests.web.test_serve import wait_healthy

__all__ = ["postgres_admin"]

TOKEN = re.compile(r"/unsubscribe/[1-9][0-9]*\.")


def test_serve_in_another_folder_shows_what_the_cron_host_sent(
    tmp_path: Path, postgres_admin: Callable[[], URL]
) -> None:
    """`newsletter send` (outbox) in one folder, `newsletter serve` in another with no
    digests/: /archive/, each issue page and /feed.xml over HTTP show every sent issue,
    including one sent while the server was running from a file outside digests/."""
    database = postgres_admin().render_as_string(hide_password=False)
    port = free_port()
    cron = ArchiveProject(tmp_path / "cron-host", database)
    web = ArchiveProject(tmp_path / "web-host", database, base_url=f"http://127.0.0.1:{port}")
    (web.folder / "digests").rmdir()
    cron.subscribe(3)
    cron.send(cron.digest("2025-09-12"))

    server = web.process("serve", "--port", str(port))
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, server)
        index = httpx2.get(f"{url}/archive/")
        assert index.status_code == 200
        assert re.findall(r'<a href="([^"]+)/">', index.text) == ["2025-09-12"]

        cron.send(cron.digest("2025-09-05", into="elsewhere", name="special issue.json"))
        index = httpx2.get(f"{url}/archive/")
        assert re.findall(r'<a href="([^"]+)/">', index.text) == ["2025-09-12", "2025-09-05"]
        for issue in ("2025-09-12", "2025-09-05"):
            page = httpx2.get(f"{url}/archive/{issue}/")
            assert page.status_code == 200
            assert f'href="{url}/unsubscribe/"' in page.text
            assert not TOKEN.search(page.text) and "reader0" not in page.text
        feed = httpx2.get(f"{url}/feed.xml")
        for sample in ("2025-09-12", "2025-09-05"):
            title = load_digest(SAMPLES / f"{sample}.json").title
            assert f"<title>{title}</title>" in feed.text
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=20)
    assert not (web.folder / "digests").exists()
    assert "could not be recovered" not in output.decode()
