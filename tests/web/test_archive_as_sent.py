"""The archive shows exactly what was sent: from the store, whatever became of the files."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from newsletter.digest import load_digest
from newsletter.errors import EXIT_OK, EXIT_PARTIAL
from newsletter.render import render_issue
from newsletter.store import SCHEMA_HEAD, Store
from newsletter.transports.outbox import read_outbox
from tests.web.archive_project import SAMPLES, ArchiveProject

ATOM = "{http://www.w3.org/2005/Atom}"
TOKEN = re.compile(r"/unsubscribe/[1-9][0-9]*\.[A-Za-z0-9_-]{20,}")


def sample_title(name: str) -> str:
    title: str = json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))["title"]
    return title


@pytest.fixture
def project(tmp_path: Path) -> ArchiveProject:
    made = ArchiveProject(tmp_path / "project", f"sqlite:///{tmp_path / 'store.sqlite3'}")
    made.subscribe(2)
    return made


def export(project: ArchiveProject, out: Path) -> dict[str, str]:
    """`newsletter archive --out` and the files it wrote, by path."""
    result = project.run("archive", "--out", str(out))
    assert result.exit_code == EXIT_OK, result.output
    return {
        str(p.relative_to(out)): p.read_text(encoding="utf-8")
        for p in out.rglob("*")
        if p.is_file()
    }


def feed_titles(xml: str) -> list[str]:
    root = ET.fromstring(xml)  # noqa: S314 - our own feed, parsed to check it
    return [entry.findtext(f"{ATOM}title") or "" for entry in root.findall(f"{ATOM}entry")]


def edit(path: Path, **changes: str) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    data["items"][0]["headline"] = "EDITED AFTER SENDING"
    path.write_text(json.dumps(data), encoding="utf-8")


def test_a_digest_edited_after_sending_leaves_the_archive_as_sent(
    project: ArchiveProject, tmp_path: Path
) -> None:
    """Editing (or deleting) the digest file after the send changes nothing the archive
    shows: the page is the email as sent, the listing and feed have the sent title."""
    digest = project.digest("2025-09-12")
    sent = project.run("send", str(digest), "--list", "weekly")
    assert sent.exit_code == EXIT_OK, sent.output
    outbox = b"".join(read_outbox(project.folder / "outbox/2025-09-12-weekly")).decode()
    edit(digest, title="EDITED TITLE")
    files = export(project, tmp_path / "public")
    page = files["archive/2025-09-12/index.html"]
    assert "EDITED" not in page and "EDITED" not in files["archive/index.html"]
    assert feed_titles(files["feed.xml"]) == [sample_title("2025-09-12")]
    as_sent = render_issue(load_digest(SAMPLES / "2025-09-12.json"), project.config())
    help_link = "https://news.example.com/unsubscribe/"
    expected = as_sent.html
    for marker in as_sent.placeholders.values():  # unsubscribe and preferences: general page
        expected = expected.replace(marker, help_link)
    assert page == expected
    assert not TOKEN.search(page) and "reader0" not in page and ".invalid/" not in page
    assert "/unsubscribe/" in outbox.replace(
        "=\r\n", ""
    )  # the readers had their own links; the page has none
    digest.unlink()
    assert export(project, tmp_path / "again")["archive/2025-09-12/index.html"] == page


def test_a_digest_sent_from_anywhere_appears(project: ArchiveProject, tmp_path: Path) -> None:
    """A digest sent from a file outside digests/, under any name, is in the archive."""
    elsewhere = project.digest("2025-09-05", into="drafts", name="final version.json")
    assert project.run("send", str(elsewhere), "--list", "weekly").exit_code == EXIT_OK
    files = export(project, tmp_path / "public")
    assert "archive/2025-09-05/index.html" in files
    assert feed_titles(files["feed.xml"]) == [sample_title("2025-09-05")]


def make_old_store(project: ArchiveProject, *samples: str) -> None:
    """Sends recorded as a store before schema 0004 has them: in the ledger, no issue kept."""
    for sample in samples:
        result = project.run("send", str(project.digest(sample)), "--list", "weekly")
        assert result.exit_code == EXIT_OK, result.output
    with Store.open(project.database) as store:
        store.downgrade("0003")


def test_upgrade_recovers_matching_digests_and_reports_the_rest(
    project: ArchiveProject, tmp_path: Path
) -> None:
    """`db upgrade` to 0004 keeps the issues whose digest file still matches the sent
    content (exactly as sent: same templates), and names those it could not: an edited
    file and a deleted one. Those stay out of the archive."""
    make_old_store(project, "2025-09-05", "2025-09-12", "2026-02-06")
    edit(project.folder / "digests/2025-09-12.json", title="EDITED TITLE")
    (project.folder / "digests/2026-02-06.json").unlink()
    result = project.run("db", "upgrade")
    assert result.exit_code == EXIT_OK, result.output
    assert f"upgraded from 0003 to {SCHEMA_HEAD}" in result.stdout
    assert "archive: recovered 2025-09-05 from " in result.stdout
    assert "(exactly as sent)" in result.stdout
    assert "2 sent issue(s) could not be recovered" in result.stderr
    assert "2025-09-12 (no digest file matches what was sent" in result.stderr
    assert "2026-02-06 (no digest file matches" in result.stderr
    assert "newsletter archive backfill" in result.stderr
    files = export(project, tmp_path / "public")
    assert sorted(p for p in files if p.count("/") == 2) == ["archive/2025-09-05/index.html"]
    with Store.open(project.database) as store:
        kept = store.issues.sent_issue("2025-09-05")
        assert kept is not None and kept.origin == "recovered"
        (send,) = store.sends.sends("2025-09-05")
        assert (kept.content_hash, kept.message_hash) == (send.content_hash, send.message_hash)


def test_backfill_from_other_copies_and_today_s_templates(
    project: ArchiveProject, tmp_path: Path
) -> None:
    """`archive backfill FOLDER` recovers from copies elsewhere; a digest that matches but
    renders differently today is kept re-rendered and said so; exit 1 while any is
    missing, 0 once none is; a second run has nothing to do."""
    make_old_store(project, "2025-09-05", "2025-09-12")
    copies = tmp_path / "copies"
    copies.mkdir()
    (project.folder / "digests/2025-09-12.json").rename(copies / "as-sent.json")
    (copies / "not-a-digest.json").write_text("{}", encoding="utf-8")
    text_template = project.folder / "templates/email.txt.j2"
    text_template.write_text(text_template.read_text(encoding="utf-8") + "\nNew footer line.\n")

    first = project.run("archive", "backfill")
    assert first.exit_code == EXIT_PARTIAL
    assert "recovered 2025-09-05" in first.stdout and "re-rendered" in first.stdout
    assert "1 sent issue(s) could not be recovered" in first.stderr and "2025-09-12" in first.stderr

    second = project.run("archive", "backfill", str(copies))
    assert second.exit_code == EXIT_OK, second.output
    assert "recovered 2025-09-12 from " in second.stdout and "as-sent.json" in second.stdout
    third = project.run("archive", "backfill")
    assert third.exit_code == EXIT_OK
    assert "nothing to recover" in third.stdout
    with Store.open(project.database) as store:
        assert [store.issues.sent_issue(i).origin for i in ("2025-09-05", "2025-09-12")] == [  # type: ignore[union-attr]
            "re-rendered",
            "re-rendered",
        ]
        assert "New footer line." in store.issues.sent_issue("2025-09-12").text  # type: ignore[union-attr]
