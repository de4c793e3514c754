"""The sign-up pages in headless Chromium: the journey with the keyboard alone against the
real server (form → confirmation email in the outbox → Confirm), and axe-core on every
new page at 375 px and 1280 px, light and dark."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from newsletter.config import Config
from newsletter.pages import Pages, signup_snippet
from newsletter.secrets import Secret
from newsletter.store import Store
from newsletter.tokens import CONFIRM, make_expiring_token
from tests.tools import axe_js
from tests.transports.harness import free_port
from tests.web.signup_support import signup_config
from tests.web.support import SECRET, served

pytestmark = pytest.mark.browser

READER = "dana.reader@example.com"
FORM_TOKEN = "1.x"  # noqa: S105 - a stand-in: these pages are only looked at, never posted
_LINK = re.compile(r"http://127\.0\.0\.1:[0-9]+/confirm/[0-9]+\.[0-9]+\.[A-Za-z0-9_-]{43}")


def _local_config(tmp_path: Path, port: int) -> Config:
    config = signup_config(tmp_path, min_fill_seconds=0)
    publication = config.publication.model_copy(
        update={"public_base_url": f"http://127.0.0.1:{port}"}
    )
    return config.model_copy(update={"publication": publication})


def _confirmation_link(config: Config) -> str:
    [path] = list(config.outbox_dir.rglob("*.eml"))
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text = message.get_body(("plain",))
    assert text is not None
    found = _LINK.search(text.get_content())
    assert found is not None
    return found.group(0)


def test_a_reader_signs_up_and_confirms_with_the_keyboard_alone(
    browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tab to each field, type, tick with Space, send with Enter; open the emailed link,
    Tab to Confirm and press Enter: the store says subscribed, with a consent record."""
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    port = free_port()
    config = _local_config(tmp_path, port)
    with Store.open(f"sqlite:///{tmp_path / 'store.sqlite3'}", create=True) as store:
        with served(config, store, port) as base:
            page = browser.new_context(viewport={"width": 375, "height": 800}).new_page()
            page.goto(f"{base}/subscribe")
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.id") == "email"
            page.keyboard.type(READER)
            page.keyboard.press("Tab")
            page.keyboard.type("Dana")
            for _ in range(4):  # past the list box (one public list: none), to consent
                if page.evaluate("document.activeElement.id") == "consent":
                    break
                page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.id") == "consent"
            page.keyboard.press("Space")
            page.keyboard.press("Tab")
            page.keyboard.press("Enter")
            page.get_by_role("heading", name="Check your inbox").wait_for()
            assert store.subscribers.get(READER) is None

            page.goto(_confirmation_link(config))
            page.get_by_role("heading", name="Confirm your subscription").wait_for()
            assert store.subscribers.get(READER) is None  # opening the link changes nothing
            page.keyboard.press("Tab")
            while page.evaluate("document.activeElement.tagName") != "BUTTON":
                page.keyboard.press("Tab")
            page.keyboard.press("Enter")
            page.get_by_role("heading", name="You are subscribed").wait_for()
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            page.screenshot(path=str(tmp_path / "confirmed-375.png"), full_page=True)
        details = store.subscribers.details(READER)
        assert details.subscriber.status == "subscribed"
        assert details.consent is not None


def _pages(config: Config) -> dict[str, str]:
    """Every new page in each of its states, rendered as the server renders them."""
    pages = Pages(config)
    lists = [
        {"name": "weekly", "description": "The weekly digest", "checked": True},
        {"name": "monthly", "description": "The monthly digest", "checked": False},
    ]
    form: dict[str, Any] = {
        "form_token": FORM_TOKEN, "email_value": "", "name_value": "", "lists": lists,
        "consent_text": config.signup.consent_text, "errors": {}, "notice": None,
        "honeypot": "homepage",
    }  # fmt: skip
    errors = {
        "email": "Please enter a complete email address, like name@example.com.",
        "lists": "Please choose at least one of the newsletters.",
        "consent": "Please tick the box to agree, or the subscription cannot start.",
    }
    return {
        "subscribe": pages.render("subscribe", **form),
        "subscribe-errors": pages.render(
            "subscribe", **{**form, "errors": errors, "notice": "That was quick!"}
        ),
        "sent": pages.render("subscribe_sent", expiry_days=7),
        "confirm": pages.render(
            "confirm",
            masked_email="d•••@example.com",
            lists=["The weekly digest"],
            action="x",
            form_token=FORM_TOKEN,
            notice=None,
        ),
        "confirm-again": pages.render(
            "confirm",
            masked_email="d•••@example.com",
            lists=[],
            action="x",
            form_token=FORM_TOKEN,
            notice="This form had expired. Please press the button again.",
        ),
        "confirmed": pages.render("confirmed", again=False, lists=["The weekly digest"]),
        "again": pages.render("confirmed", again=True, lists=[]),
        "expired": pages.render("confirm_expired", subscribe_url="../subscribe"),
        "invalid": pages.render("confirm_invalid"),
        "refused": pages.render("confirm_refused", contact="editors@example.com"),
        "too-many": pages.render("too_many", minutes=5),
        "snippet": f"<!DOCTYPE html><html lang='en'><head><title>Site</title></head>"
        f"<body><main>{signup_snippet(config)}</main></body></html>",
    }


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [375, 1280])
def test_every_new_page_passes_axe(browser: Any, tmp_path: Path, width: int, scheme: str) -> None:
    """axe-core finds no serious or critical violation on any sign-up page in any state
    (errors shown included), at phone and desktop width, light and dark; nothing scrolls
    sideways at 375 px."""
    script = axe_js()
    context = browser.new_context(
        viewport={"width": width, "height": 900}, color_scheme=scheme, bypass_csp=True
    )
    found = {}
    for name, html in _pages(signup_config(tmp_path)).items():
        page = context.new_page()
        page.set_content(html, wait_until="load")
        page.add_script_tag(path=str(script))
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        serious = [
            (v["id"], [n["target"] for n in v["nodes"]])
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        if serious:
            found[name] = serious
        if width == 375:
            assert page.evaluate("document.documentElement.scrollWidth") <= 375, name
        page.close()
    context.close()
    assert found == {}


def test_an_expired_link_page_in_the_browser(
    browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A genuine link past its expiry shows the expired page (410) with a way back."""
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    port = free_port()
    config = _local_config(tmp_path, port)
    secret = Secret("NEWSLETTER_SECRET", SECRET)
    token = make_expiring_token(
        1, secret, purpose=CONFIRM, expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    with (
        Store.open(f"sqlite:///{tmp_path / 'store.sqlite3'}", create=True) as store,
        served(config, store, port) as base,
    ):
        page = browser.new_context().new_page()
        answer = page.goto(f"{base}/confirm/{token}")
        assert answer.status == 410
        page.get_by_role("link", name="Sign up again").click()
        page.get_by_role("heading", name="Subscribe to Foreign Media Digest").wait_for()
