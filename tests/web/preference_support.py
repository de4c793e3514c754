"""A web endpoint with the preference page: a site whose outbox is a temporary folder."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email.message import Message
from email.policy import default as default_policy
from pathlib import Path

from newsletter.clock import FixedClock
from newsletter.config import Config
from newsletter.store import Store
from newsletter.tokens import PREFERENCES, make_token
from newsletter.transports.outbox import maildir_path, read_outbox
from tests.feedback.signing import Signer
from tests.web.support import NOW, Site, web_config

BASE = "https://news.example.com"
CONFIRM_MAILDIR = ("notice-confirm-address", "notices")  # newsletter.notices: issue, list


def preference_config(tmp_path: Path, base_url: str = BASE) -> Config:
    """The repo's config (weekly is public) with its outbox in `tmp_path` and a second
    public list, so choosing lists means something."""
    config = web_config(base_url)
    delivery = config.delivery.model_copy(
        update={"outbox": config.delivery.outbox.model_copy(update={"folder": tmp_path / "out"})}
    )
    lists = dict(config.lists)
    lists["monthly"] = lists["weekly"].model_copy(
        update={"description": "The monthly long read", "weekly": False, "public": True}
    )
    return config.model_copy(update={"delivery": delivery, "lists": lists})


def preference_site(tmp_path: Path) -> tuple[Site, FixedClock]:
    """The site, and the store's clock (set to the web's `NOW`; move both together)."""
    clock = FixedClock(datetime.fromtimestamp(NOW, UTC))
    store = Store.open(f"sqlite:///{tmp_path / 'store.sqlite3'}", create=True, clock=clock)
    return Site(preference_config(tmp_path), store, Signer.new()), clock


def preferences_token(site: Site, email_address: str) -> str:
    found = site.store.subscribers.get(email_address)
    assert found is not None
    return make_token(found.id, site.secret, purpose=PREFERENCES)


def csrf_of(page: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def confirmation_emails(config: Config) -> list[Message]:
    """The change-of-address confirmations in the outbox, oldest first."""
    folder = maildir_path(config.outbox_dir, *CONFIRM_MAILDIR)
    return [email.message_from_bytes(raw, policy=default_policy) for raw in read_outbox(folder)]


def confirmation_link(message: Message) -> str:
    """The confirm-address link in a confirmation email's text part."""
    text = message.get_body(("plain",))
    assert text is not None
    found = re.search(r"(https?://\S+/confirm-address/\S+)", text.get_content())
    assert found
    return found.group(1)
