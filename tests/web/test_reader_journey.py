"""A reader's whole journey in headless Chromium against the real server (uvicorn): sign
up on the form, find the confirmation email in the outbox, open its link, press Confirm;
then from an issue's footer to the preference page; change lists with the keyboard
alone, pause, change address (confirmed from the new address's email), delete the data."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from newsletter.config import Config, SignupSettings
from newsletter.digest import load_digest
from newsletter.message import Recipient, build_issue_message
from newsletter.message.links import preferences_url, unsubscribe_url
from newsletter.render import render_issue
from newsletter.secrets import signing_secret
from newsletter.store import Store
from tests.conftest import REPO
from tests.transports.harness import free_port
from tests.web.preference_support import (
    confirmation_emails,
    confirmation_link,
    preference_config,
)
from tests.web.support import SECRET, served

pytestmark = pytest.mark.browser

READER = "aigerim.reader@example.com"
NEW = "aigerim.home@example.org"
_SIGNUP_LINK = re.compile(r"http://127\.0\.0\.1:[0-9]+/confirm/[0-9]+\.[0-9]+\.[A-Za-z0-9_-]{43}")


def _journey_config(tmp_path: Path, base_url: str) -> Config:
    """The preference pages' config (weekly and monthly public) with no minimum fill time:
    the browser fills the form faster than a person (that limit has tests of its own)."""
    config = preference_config(tmp_path, base_url)
    signup = SignupSettings.model_validate({**config.signup.model_dump(), "min_fill_seconds": 0})
    return config.model_copy(update={"signup": signup})


def _signup_confirmation_link(config: Config, address: str) -> str:
    """The /confirm/ link of the one sign-up confirmation in the outbox for `address`."""
    found = []
    for path in config.outbox_dir.rglob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        text = message.get_body(("plain",))
        if address in str(message["To"]) and text is not None:
            found.extend(_SIGNUP_LINK.findall(text.get_content()))
    assert len(found) == 1, f"expected one confirmation link for {address}, found {found}"
    return str(found[0])


def _tab_to(page: Any, selector: str, limit: int = 40) -> None:
    """Press Tab until `selector` has the focus (it must be reachable by keyboard)."""
    for _ in range(limit):
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"{selector} cannot be reached with Tab")


def test_a_reader_signs_up_and_manages_everything_from_an_issue(
    browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sign-up form → confirmation email in the outbox → its link (GET changes nothing) →
    Confirm → subscribed with a consent record; then a sent issue's footer link →
    preference page; lists changed with the keyboard; paused 4 weeks; new address
    confirmed from the email in the outbox (GET first changes nothing); then "delete my
    data": the store keeps nothing of the reader."""
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    port = free_port()
    config = _journey_config(tmp_path, f"http://127.0.0.1:{port}")
    secret = signing_secret()
    with (
        Store.open(f"sqlite:///{tmp_path / 'store.sqlite3'}", create=True) as store,
        served(config, store, port) as base,
    ):
        context = browser.new_context(viewport={"width": 375, "height": 800})
        page = context.new_page()
        page.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda r: r.abort())

        # Sign up on the form: nothing is subscribed before the email's Confirm.
        page.goto(f"{base}/subscribe")
        page.get_by_label("Email address").fill(READER)
        page.get_by_label("Name").fill("Aigerim")
        page.locator("#list-weekly").check()
        page.locator("#list-monthly").uncheck()
        page.locator("#consent").check()
        page.get_by_role("button", name="Subscribe").click()
        page.get_by_role("heading", name="Check your inbox").wait_for()
        assert store.subscribers.get(READER) is None
        link = _signup_confirmation_link(config, READER)
        page.goto(link)
        page.get_by_role("heading", name="Confirm your subscription").wait_for()
        assert store.subscribers.get(READER) is None  # opening the link changes nothing
        page.get_by_role("button", name="Confirm").click()
        page.get_by_role("heading", name="You are subscribed").wait_for()
        details = store.subscribers.details(READER)
        assert details.subscriber.status == "subscribed"
        assert details.consent is not None
        assert store.subscribers.active_lists(details.subscriber.id) == {"weekly"}
        reader = details.subscriber

        # A sent issue reaches the reader; its footer opens the preference page.
        rendered = render_issue(load_digest(REPO / "digests/2025-09-12.json"), config)
        recipient = Recipient(
            email=READER,
            name=reader.name,
            subscriber_id=reader.id,
            unsubscribe_url=unsubscribe_url(config, reader.id, secret),
            preferences_url=preferences_url(config, reader.id, secret),
        )
        message = build_issue_message(rendered, config, "weekly").personalise(recipient)
        page.set_content(message.html, wait_until="load")
        page.get_by_role("link", name="Preferences").click()
        page.wait_for_url(recipient.preferences_url)
        page.get_by_role("heading", name=re.compile("preferences")).wait_for()

        # Lists, with the keyboard alone: untick weekly, tick monthly, press Save.
        _tab_to(page, "#list-weekly")
        page.keyboard.press("Space")
        _tab_to(page, "#list-monthly")
        page.keyboard.press("Space")
        _tab_to(page, "button[type=submit]")
        page.keyboard.press("Enter")
        page.get_by_role("status").filter(has_text="you receive monthly").wait_for()
        assert store.subscribers.active_lists(reader.id) == {"monthly"}

        # Pause for 4 weeks.
        page.get_by_label("4 weeks").check()
        page.get_by_role("button", name="Pause").click()
        page.get_by_role("status").filter(has_text="Paused").wait_for()
        paused = store.subscribers.get(READER)
        assert paused is not None and paused.paused_until is not None

        # Change address: nothing changes until the new address confirms.
        page.get_by_label("New email address").fill(NEW)
        page.get_by_role("button", name="Send a confirmation link").click()
        page.get_by_role("status").filter(has_text="sent a link").wait_for()
        [mail] = confirmation_emails(config)
        link = confirmation_link(mail)
        page.goto(link)
        page.get_by_role("button", name="Confirm").wait_for()
        assert store.subscribers.get(NEW) is None
        page.get_by_role("button", name="Confirm").click()
        page.get_by_role("heading", name="Your address is changed").wait_for()
        moved = store.subscribers.get(NEW)
        assert moved is not None and moved.id == reader.id
        assert store.subscribers.get(READER) is None

        # Delete my data: asked first (a GET), done by the POST.
        page.goto(recipient.preferences_url)
        page.get_by_role("link", name="Delete my data…").click()
        page.get_by_role("heading", name=re.compile("Delete everything")).wait_for()
        assert store.subscribers.get(NEW) is not None
        page.get_by_role("button", name="Delete my data").click()
        page.get_by_role("heading", name="Your data is deleted").wait_for()
        assert store.subscribers.get(NEW) is None
        assert store.erasures.is_erased(NEW, secret)
        gone = store.subscribers.get_by_id(reader.id)
        assert gone is not None and gone.email.endswith("@erased.invalid")
        with store.database.read() as conn:  # the consent record and sign-up are gone too
            consent = conn.execute(
                text("SELECT consent_posted_at, consent_ip FROM subscribers WHERE id = :id"),
                {"id": reader.id},
            ).one()
            signups = conn.execute(text("SELECT count(*) FROM signups")).scalar_one()
        assert (tuple(consent), signups) == ((None, None), 0)
        page.screenshot(path=str(tmp_path / "erased-375.png"), full_page=True)
        context.close()
