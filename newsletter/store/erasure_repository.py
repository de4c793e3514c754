"""Erased addresses in the store (`store.erasures`): whether an address was erased.

The erasing itself is `store.subscribers.forget`; this repository answers the one
question every way in (sign-up, import, provider feedback) asks. See
`newsletter.store.erasures` for what is kept and why.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete

from newsletter.addresses import parse_email
from newsletter.secrets import Secret, signing_secret
from newsletter.store import erasures, preferences
from newsletter.store.database import Database
from newsletter.store.schema import signups


class ErasureRepository:
    """The keyed hashes of erased addresses (`store.erasures`)."""

    def __init__(self, database: Database, secret: erasures.SecretSource = signing_secret) -> None:
        self._db = database
        self._secret = secret

    def is_erased(self, email: str, secret: Secret | None = None) -> bool:
        """Whether `email` (any case, any spacing) was erased: then it is suppressed for
        good, is never stored again and gets no mail, a confirmation email included.
        Hashes under `secret`, else NEWSLETTER_SECRET (ConfigError without it; read only
        once anything was erased). AddressError (3) if `email` is not an address."""
        source = self._secret if secret is None else (lambda: secret)
        with self._db.read() as conn:
            return erasures.is_erased(conn, parse_email(email), source)

    def pending_signups(self, email: str) -> list[dict[str, Any]]:
        """The sign-ups of `email` still waiting for their confirmation, JSON-ready (for
        `subscribers export-person` of an address that is no subscriber yet)."""
        with self._db.read() as conn:
            return preferences.pending_signups(conn, parse_email(email))

    def forget_pending(self, email: str, secret: Secret) -> int:
        """Erase an address that is no subscriber but has sign-ups waiting (GDPR art. 17):
        its sign-up rows go and its keyed hash is kept as a suppression, in one
        transaction. How many sign-ups went (0: nothing was stored, nothing recorded)."""
        address = parse_email(email)
        digest = erasures.address_hash(address, secret)
        with self._db.write() as conn:
            gone = conn.execute(
                delete(signups).where(
                    (signups.c.address_hash == digest) | (signups.c.email == address)
                )
            ).rowcount
            if gone:
                erasures.record(conn, address, secret, self._db.clock.now())
        self._db.checkpoint()
        return int(gone)

    def count(self) -> int:
        """How many addresses were erased."""
        with self._db.read() as conn:
            return erasures.count(conn)
