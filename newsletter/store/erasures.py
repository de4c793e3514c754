"""Erased addresses: the right to erasure (GDPR art. 17) without forgetting the refusal.

`subscribers forget EMAIL` deletes everything stored about an address but one keyed
hash of it: HMAC-SHA256 of the normalised address under NEWSLETTER_SECRET, in hex, in
`erased_addresses`. The hash cannot be turned back into the address (nor guessed by
someone without the secret, as a plain hash of a known address could), yet the same
address seen again - in a CSV import, a sign-up, a provider's suppression list -
hashes to the same value and is treated as suppressed: never stored, never mailed.

Checking needs the secret only once something was erased: an empty table answers
"no" for every address without it, so stores that never erased anyone import CSV
files without NEWSLETTER_SECRET, as before.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import Connection, exists, func, insert, select

from newsletter.secrets import Secret
from newsletter.store.schema import erased_addresses

SecretSource = Callable[[], Secret]
_DOMAIN = "newsletter/address/v1/"  # keeps these hashes apart from any other HMAC use


def address_hash(email: str, secret: Secret) -> str:
    """The keyed hash of an already normalised address: HMAC-SHA256 under the signing
    secret, 64 hex digits. The one address hash of the store: an erased address is kept
    as it (`erased_addresses`), and a sign-up's rows are found by it (`signups`), so
    erasing an address finds and deletes that address's sign-ups too."""
    message = (_DOMAIN + email).encode("utf-8")
    return hmac.digest(secret.reveal().encode("utf-8"), message, "sha256").hex()


def any_erased(conn: Connection) -> bool:
    """Whether anything was ever erased (if not, no check needs the secret)."""
    return bool(conn.execute(select(exists().select_from(erased_addresses))).scalar())


def is_erased(conn: Connection, email: str, secret: SecretSource) -> bool:
    """Whether the normalised address `email` was erased."""
    if not any_erased(conn):
        return False
    digest = address_hash(email, secret())
    found = conn.execute(
        select(erased_addresses.c.address_hmac).where(erased_addresses.c.address_hmac == digest)
    ).first()
    return found is not None


def erased_among(conn: Connection, emails: Iterable[str], secret: SecretSource) -> set[str]:
    """Those of the normalised addresses `emails` that were erased (one read of the
    table: it holds one short row per erasure, few next to a list)."""
    if not any_erased(conn):
        return set()
    stored = set(conn.execute(select(erased_addresses.c.address_hmac)).scalars())
    key = secret()
    return {email for email in emails if address_hash(email, key) in stored}


def record(conn: Connection, email: str, secret: Secret, now: datetime) -> None:
    """Keep the keyed hash of an address being erased (once: erasing twice is harmless)."""
    digest = address_hash(email, secret)
    present = conn.execute(
        select(erased_addresses.c.address_hmac).where(erased_addresses.c.address_hmac == digest)
    ).first()
    if present is None:
        conn.execute(insert(erased_addresses).values(address_hmac=digest, erased_at=now))


def count(conn: Connection) -> int:
    """How many addresses were erased."""
    return int(conn.execute(select(func.count()).select_from(erased_addresses)).scalar_one())
