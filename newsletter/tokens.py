"""Signed, URL-safe tokens that name a subscriber: the key of unsubscribe links.

A token is ``<subscriber id>.<signature>``, where the signature is the
HMAC-SHA256 of the id and the token's purpose under NEWSLETTER_SECRET, in
unpadded base64url. Nothing else needs storing: the store can recompute any
subscriber's token, and only someone holding the secret can make one. The
purpose is part of what is signed, so a token made for one use is worthless for
another. Checking compares signatures in constant time.

An expiring token (a sign-up's confirmation link) is
``<id>.<expiry>.<signature>``: the expiry, whole seconds since the epoch (UTC),
is signed with the id, so it cannot be moved; after it the token is refused
with TokenExpiredError, told apart from a forged or damaged one.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from newsletter.errors import TokenError, TokenExpiredError
from newsletter.secrets import Secret

UNSUBSCRIBE: Final = "unsubscribe"
CONFIRM: Final = "confirm"  # a pending sign-up's double opt-in link (expiring)
PREFERENCES: Final = "preferences"  # a reader's preference page: never expires, like UNSUBSCRIBE
CHANGE_ADDRESS: Final = "change-address"  # confirms a new address; expiring, names the request
_VERSION: Final = "v1"
_SHAPE = re.compile(r"^([1-9][0-9]{0,18})\.([A-Za-z0-9_-]{43})$")
_EXPIRING_SHAPE = re.compile(r"^([1-9][0-9]{0,18})\.([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{43})$")
MAX_ID: Final = 2**63 - 1  # subscriber ids are BIGINTs: no token names a larger one


def _signature(subscriber_id: int, purpose: str, secret: Secret) -> str:
    return TokenSigner(secret, purpose).signature(subscriber_id)


def make_token(subscriber_id: int, secret: Secret, *, purpose: str = UNSUBSCRIBE) -> str:
    """The token for `subscriber_id`: always the same for the same id, purpose and secret."""
    return TokenSigner(secret, purpose)(subscriber_id)


class TokenSigner:
    """Makes many tokens of one purpose under one secret: `signer(subscriber_id)`.

    The HMAC-SHA256 of RFC 2104 with the keyed inner and outer hash states computed
    once: each token then costs two SHA-256 compressions of copied states, not the
    key set-up of a fresh HMAC (OpenSSL 3's one-shot `hmac.digest` takes several
    times as long). A send signs one token per reader, a million per large send.
    The tokens are exactly `hmac.digest(key, message, "sha256")`'s (tested)."""

    _BLOCK = 64  # SHA-256's block size in bytes (RFC 2104's B)

    def __init__(self, secret: Secret, purpose: str = UNSUBSCRIBE) -> None:
        key = secret.reveal().encode("utf-8")
        if len(key) > self._BLOCK:  # RFC 2104 §2: a longer key is hashed first
            key = hashlib.sha256(key).digest()
        key = key.ljust(self._BLOCK, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))
        self._prefix = f"newsletter/{purpose}/{_VERSION}/"

    def signature(self, subscriber_id: int) -> str:
        return self._signatures((subscriber_id,))[0]

    def __call__(self, subscriber_id: int) -> str:
        """The token for `subscriber_id`; ValueError outside 1…2**63-1."""
        if not 1 <= subscriber_id <= MAX_ID:
            raise ValueError(f"subscriber ids are 1 to 2**63-1, got {subscriber_id}")
        return f"{subscriber_id}.{self.signature(subscriber_id)}"

    def many(self, subscriber_ids: Sequence[int], before: str = "") -> list[str]:
        """The tokens for `subscriber_ids`, in order, each after `before` (a link's base
        URL, or nothing): the same as calling the signer on each (tested), signed in one
        loop, for a batch of a thousand readers. ValueError if any id is outside
        1…2**63-1."""
        if subscriber_ids and not (min(subscriber_ids) >= 1 and max(subscriber_ids) <= MAX_ID):
            bad = next(i for i in subscriber_ids if not 1 <= i <= MAX_ID)
            raise ValueError(f"subscriber ids are 1 to 2**63-1, got {bad}")
        signatures = self._signatures(subscriber_ids)
        return [
            f"{before}{i}.{signature}"
            for i, signature in zip(subscriber_ids, signatures, strict=True)
        ]

    def _signatures(self, subscriber_ids: Sequence[int]) -> list[str]:
        """Each id's signature: HMAC-SHA256 from the keyed states, unpadded base64url.

        The digests are encoded together: each 32-byte digest followed by one zero byte
        is 33 bytes, eleven whole base64 groups, 44 characters of which the first 43 are
        exactly that digest's own unpadded base64 (the zero byte only fills the bits
        after it). One encoding and one translation per batch instead of one per id."""
        inner, outer, prefix = self._inner.copy, self._outer.copy, self._prefix
        digests: list[bytes] = []
        append = digests.append
        for subscriber_id in subscriber_ids:
            hashed = inner()
            hashed.update(f"{prefix}{subscriber_id}".encode())
            keyed = outer()
            keyed.update(hashed.digest())
            append(keyed.digest())
        if not digests:
            return []
        encoded = binascii.b2a_base64(b"\0".join(digests) + b"\0", newline=False)
        text = encoded.translate(_URL_SAFE).decode("ascii")
        return [text[start : start + 43] for start in range(0, len(text), 44)]


_URL_SAFE = bytes.maketrans(b"+/", b"-_")  # base64 → base64url (RFC 4648 §5)
_IPAD = bytes(b ^ 0x36 for b in range(256))  # RFC 2104: key XOR 0x36…, as a translation
_OPAD = bytes(b ^ 0x5C for b in range(256))  # key XOR 0x5c…


def read_token(token: str, secret: Secret, *, purpose: str = UNSUBSCRIBE) -> int:
    """The subscriber id a token names; TokenError when it is malformed or not ours."""
    match = _SHAPE.fullmatch(token.strip())
    if match is None:
        raise TokenError("this link is incomplete or damaged (malformed token)")
    subscriber_id = int(match.group(1))
    if subscriber_id > MAX_ID:  # nineteen digits reach past BIGINT; the store cannot look it up
        raise TokenError("this link is incomplete or damaged (no such subscriber id)")
    expected = _signature(subscriber_id, purpose, secret)
    if not hmac.compare_digest(expected, match.group(2)):
        raise TokenError("this link was not issued by this newsletter (bad signature)")
    return subscriber_id


def make_expiring_token(
    subject_id: int, secret: Secret, *, purpose: str, expires_at: datetime
) -> str:
    """A token naming `subject_id` for `purpose` that is refused after `expires_at`
    (aware datetime; kept to the whole second)."""
    if not 1 <= subject_id <= MAX_ID:
        raise ValueError(f"ids are 1 to 2**63-1, got {subject_id}")
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    expiry = int(expires_at.timestamp())
    signature = _signature(subject_id, f"{purpose}/{expiry}", secret)
    return f"{subject_id}.{expiry}.{signature}"


def read_expiring_token(token: str, secret: Secret, *, purpose: str, now: datetime) -> int:
    """The id an expiring token names. TokenError when it is malformed or not ours;
    TokenExpiredError (a TokenError) when it is genuine but `now` is past its expiry.
    The signature is checked first, so an expiry message is only ever given for a
    token this newsletter issued."""
    match = _EXPIRING_SHAPE.fullmatch(token.strip())
    if match is None:
        raise TokenError("this link is incomplete or damaged (malformed token)")
    subject_id, expiry = int(match.group(1)), int(match.group(2))
    if subject_id > MAX_ID:
        raise TokenError("this link is incomplete or damaged (no such id)")
    expected = _signature(subject_id, f"{purpose}/{expiry}", secret)
    if not hmac.compare_digest(expected, match.group(3)):
        raise TokenError("this link was not issued by this newsletter (bad signature)")
    if now.astimezone(UTC).timestamp() >= expiry:
        raise TokenExpiredError("this link has expired")
    return subject_id
