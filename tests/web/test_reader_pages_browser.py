"""The preference pages in headless Chromium: axe-core finds no serious or critical
violation on any of them, at 375 and 1280 px, light and dark; every form control has a
label."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from newsletter.store import Source
from newsletter.tokens import CHANGE_ADDRESS, make_expiring_token
from tests.tools import axe_js
from tests.web.preference_support import csrf_of, preference_site, preferences_token
from tests.web.support import Site

pytestmark = pytest.mark.browser

READER = "reader00001@example.com"


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Each new page's HTML as served, by name (fetched once through the app)."""
    site, _ = preference_site(tmp_path_factory.mktemp("pages"))
    site.subscribe(1)
    try:
        yield _collect(site)
    finally:
        site.store.close()


def _collect(site: Site) -> dict[str, str]:
    path = f"/preferences/{preferences_token(site, READER)}"
    found: dict[str, str] = {"preferences": site.client.get(path).text}
    csrf = csrf_of(found["preferences"])
    found["preferences-error"] = site.client.post(
        path, data={"csrf": csrf, "action": "change-address", "email": "nope"}
    ).text
    found["erase"] = site.client.get(path + "/erase").text
    found["refused"] = site.client.post(path, data={"csrf": "x", "action": "resume"}).text
    paused = site.client.post(path, data={"csrf": csrf, "action": "pause", "weeks": "2"})
    found["preferences-paused"] = paused.text
    reader = site.store.subscribers.get(READER)
    assert reader is not None
    expires = datetime.fromtimestamp(site.clock[0], UTC) + timedelta(days=7)
    change = site.store.subscribers.request_address_change(
        reader.id, "new@example.org", expires, source=Source.WEB
    )
    token = make_expiring_token(change.id, site.secret, purpose=CHANGE_ADDRESS, expires_at=expires)
    confirm = site.client.get(f"/confirm-address/{token}")
    found["confirm-address"] = confirm.text
    found["address-confirmed"] = site.client.post(
        f"/confirm-address/{token}", data={"csrf": csrf_of(confirm.text)}
    ).text
    path = f"/preferences/{preferences_token(site, 'new@example.org')}"
    erase = site.client.get(path + "/erase")
    found["erased"] = site.client.post(path + "/erase", data={"csrf": csrf_of(erase.text)}).text
    return found


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [375, 1280])
def test_every_reader_page_passes_axe(
    browser: Any, pages: dict[str, str], width: int, scheme: str
) -> None:
    """axe-core: no serious or critical violation on any new page; at 375 px no page
    scrolls sideways; every input has a label that names it."""
    script = axe_js()
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    try:
        for name, html in pages.items():
            page.set_content(html, wait_until="load")
            page.add_script_tag(path=str(script))
            result = page.evaluate(
                "async () => await axe.run(document, {resultTypes: ['violations']})"
            )
            serious = [
                (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
                for v in result["violations"]
                if v["impact"] in ("serious", "critical")
            ]
            assert serious == [], name
            assert page.evaluate("document.documentElement.scrollWidth") <= width, name
            unlabelled = page.evaluate(
                "() => [...document.querySelectorAll('input:not([type=hidden])')]"
                ".filter(i => !(i.labels && i.labels.length)).map(i => i.name)"
            )
            assert unlabelled == [], name
    finally:
        context.close()
