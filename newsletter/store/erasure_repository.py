"""Erased addresses in the store (`store.erasures`): whether an address was erased.

The erasing itself is `store.subscribers.forget`; this repository answers the one
question every way in (sign-up, import, provider feedback) asks. See
`newsletter.store.erasures` for what is kept and why.
"""

from __future__ import annotations

from newsletter.addresses import parse_email
from newsletter.secrets import Secret, signing_secret
from newsletter.store import erasures
from newsletter.store.database import Database


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

    def count(self) -> int:
        """How many addresses were erased."""
        with self._db.read() as conn:
            return erasures.count(conn)
