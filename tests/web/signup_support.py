"""A sign-up site over a throw-away store: a fixed clock, the real outbox transport,
and helpers to fill in the form and read the confirmation emails."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx2
from sqlalchemy.engine import URL
from starlette.testclient import TestClient

from newsletter.clock import FixedClock
from newsletter.config import Config, SignupSettings
from newsletter.secrets import Secret
from newsletter.store import Store
from newsletter.web.app import create_app
from tests.delivery_support import delivery_config
from tests.web.support import SECRET

BASE = "https://news.example.com"
START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
_CONFIRM = re.compile(r"https://news\.example\.com/confirm/([0-9]+\.[0-9]+\.[A-Za-z0-9_-]{43})")


def signup_config(tmp_path: Path, **signup: Any) -> Config:
    """The repo's config, public at BASE, the outbox in `tmp_path`, signup overrides."""
    config = delivery_config(outbox={"folder": str(tmp_path / "outbox")})
    publication = config.publication.model_copy(update={"public_base_url": BASE})
    settings = SignupSettings.model_validate({**config.signup.model_dump(), **signup})
    return config.model_copy(update={"publication": publication, "signup": settings})


@dataclass
class SignupSite:
    """The app over one store, its clocks (the store's and the rate limits') and the
    outbox the confirmation emails land in."""

    config: Config
    store: Store
    clock: FixedClock
    secret: Secret = field(default_factory=lambda: Secret("NEWSLETTER_SECRET", SECRET))

    def __post_init__(self) -> None:
        self.app = create_app(
            self.config, self.store, secret=self.secret, clock=lambda: self.clock.now().timestamp()
        )
        self.client = TestClient(self.app, base_url=BASE)

    def form_token(self) -> str:
        page = self.client.get("/subscribe")
        assert page.status_code == 200
        found = _TOKEN.search(page.text)
        assert found is not None
        return found.group(1)

    def post(
        self,
        email_address: str,
        *,
        lists: tuple[str, ...] = ("weekly",),
        wait: float = 5,
        token: str | None = None,
        extra: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        consent: bool = True,
    ) -> httpx2.Response:
        """Fill in the form (shown now), wait `wait` seconds, post it."""
        form_token = self.form_token() if token is None else token
        self.clock.advance(timedelta(seconds=wait))
        fields: dict[str, Any] = {"email": email_address, "lists": list(lists)}
        if form_token:
            fields["form_token"] = form_token
        if consent:
            fields["consent"] = "yes"
        fields.update(extra or {})
        return self.client.post("/subscribe", data=fields, headers=headers or {})

    def emails(self) -> list[EmailMessage]:
        """Every message in the outbox, oldest first."""
        found = []
        for path in sorted(self.config.outbox_dir.rglob("*.eml"), key=lambda p: p.name):
            parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            found.append(parsed)
        return found

    def emails_to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.emails() if address in str(m["To"])]

    def confirm(self, path: str, headers: dict[str, str] | None = None) -> httpx2.Response:
        """Open the Confirm page at `path` and press its button (the page's form token)."""
        page = self.client.get(path)
        found = _TOKEN.search(page.text)
        fields = {"form_token": found.group(1)} if found else {}
        return self.client.post(path, data=fields, headers=headers or {})

    def confirm_path(self, message: EmailMessage) -> str:
        """The /confirm/{token} path of a confirmation email (from its text part)."""
        text = message.get_body(("plain",))
        assert text is not None
        found = _CONFIRM.search(text.get_content())
        assert found is not None
        return f"/confirm/{found.group(1)}"


def make_signup_site(tmp_path: Path, url: URL | str | None = None, **signup: Any) -> SignupSite:
    clock = FixedClock(START)
    store = Store.open(url or f"sqlite:///{tmp_path / 'store.sqlite3'}", create=True, clock=clock)
    return SignupSite(signup_config(tmp_path, **signup), store, clock)
