"""The unsubscribe flow in a real browser (headless Chromium) against the real server."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from newsletter.digest import load_digest
from newsletter.message import Recipient, build_issue_message
from newsletter.message.links import unsubscribe_url
from newsletter.render import render_issue
from newsletter.secrets import signing_secret
from newsletter.store import Store
from tests.conftest import REPO
from tests.web.support import SECRET, local_site_config, served

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 800}


def phone_page(browser: Any, scheme: str = "light") -> Any:
    page = browser.new_context(viewport=PHONE, color_scheme=scheme).new_page()
    # Only our own server: the email's remote images are refused, as offline.
    page.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    return page


def fits_and_shoot(page: Any, path: Path) -> None:
    """No horizontal scroll at 375 px, and a real (non-blank) screenshot."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5_000


def test_reader_unsubscribes_from_a_real_email(
    browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Open a personalised email, follow its unsubscribe link, confirm: the store says
    unsubscribed; both pages fit a 375 px phone screen."""
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    config, port = local_site_config()
    email = "aigerim.reader@example.com"
    with Store.open(f"sqlite:///{tmp_path / 'store.sqlite3'}", create=True) as store:
        store.subscribers.add(email, "weekly", name="Aigerim")
        subscriber = store.subscribers.get(email)
        assert subscriber is not None
        rendered = render_issue(load_digest(REPO / "digests/2025-09-12.json"), config)
        recipient = Recipient(
            email=email,
            name=subscriber.name,
            subscriber_id=subscriber.id,
            unsubscribe_url=unsubscribe_url(config, subscriber.id, signing_secret()),
        )
        message = build_issue_message(rendered, config, "weekly").personalise(recipient)
        assert recipient.unsubscribe_url.startswith(f"http://127.0.0.1:{port}/unsubscribe/")

        with served(config, store, port):
            page = phone_page(browser)
            page.set_content(message.html, wait_until="load")
            page.get_by_role("link", name="Unsubscribe").click()
            page.wait_for_url(recipient.unsubscribe_url)
            assert page.get_by_role("heading").inner_text() == (
                "Unsubscribe from Foreign Media Digest?"
            )
            fits_and_shoot(page, tmp_path / "confirm-375.png")
            assert store.subscribers.get(email).status == "subscribed"  # type: ignore[union-attr]

            page.get_by_role("button", name="Unsubscribe").click()
            page.get_by_role("heading", name="You are unsubscribed").wait_for()
            assert store.subscribers.get(email).status == "unsubscribed"  # type: ignore[union-attr]
            fits_and_shoot(page, tmp_path / "unsubscribed-375.png")

            dark = phone_page(browser, scheme="dark")
            dark.goto(recipient.unsubscribe_url)
            background = dark.evaluate("getComputedStyle(document.body).backgroundColor")
            assert background == "rgb(20, 21, 24)"
            fits_and_shoot(dark, tmp_path / "dark-375.png")
