"""Verifying SendGrid's signed Event Webhook requests.

SendGrid signs `timestamp + raw body` with ECDSA P-256 / SHA-256 and sends the
base64 DER signature and the timestamp in two headers. We check the signature
with the public key from config.yaml, and refuse requests whose timestamp is
too old (or too far in the future): a captured request cannot be replayed later.
The headers are checked (`check_headers`) before the body is read at all; the body
is then verified against them (`verify_body`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from newsletter.errors import ConfigError, SignatureError

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
MAX_AGE_SECONDS = 300
# Seconds since 1970: ten digits until the year 2286. Twelve leave room, and a longer
# header is refused before any arithmetic (a 400-digit integer overflows a float).
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
MAX_SIGNATURE_CHARS = 200  # base64 of a DER ECDSA P-256 signature is at most 96 characters
Buffer = bytes | bytearray
# The verification key's type, named here so callers need not import `cryptography`.
PublicKey = ec.EllipticCurvePublicKey


def load_public_key(text: str) -> PublicKey:
    """The verification key as SendGrid shows it (base64 DER) or as PEM."""
    try:
        if "BEGIN PUBLIC KEY" in text:
            key = load_pem_public_key(text.encode("ascii"))
        else:
            key = load_der_public_key(base64.b64decode("".join(text.split()), validate=True))
    except (ValueError, binascii.Error, UnicodeEncodeError) as err:
        raise ConfigError(
            "webhook.sendgrid_public_key is not a valid public key",
            hint="copy the verification key from SendGrid's Mail Settings → Signed Event Webhook",
        ) from err
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ConfigError("webhook.sendgrid_public_key is not an elliptic-curve (ECDSA) key")
    return key


@dataclass(frozen=True)
class SignedHeaders:
    """The two signature headers of a request, checked for shape and age."""

    timestamp: str  # exactly as sent: it is part of what was signed
    signature: bytes  # DER-encoded ECDSA signature


def check_headers(
    signature: str | None,
    timestamp: str | None,
    *,
    now: float,
    max_age: int = MAX_AGE_SECONDS,
) -> SignedHeaders:
    """Everything that can be checked before the body is read: both headers present, the
    timestamp a plain number of seconds within `max_age` of `now`, the signature base64 of
    plausible length. SignatureError otherwise (a 400-digit timestamp included)."""
    if not signature or not timestamp:
        raise SignatureError("unsigned request: signature headers missing")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureError("malformed signature timestamp")
    if abs(now - int(timestamp)) > max_age:
        raise SignatureError("signature timestamp outside the accepted window (replay?)")
    if len(signature) > MAX_SIGNATURE_CHARS:
        raise SignatureError("malformed signature")
    try:
        der = base64.b64decode(signature, validate=True)
    except (ValueError, binascii.Error) as err:
        raise SignatureError("malformed signature") from err
    return SignedHeaders(timestamp, der)


def verify_body(key: PublicKey, headers: SignedHeaders, body: Buffer) -> None:
    """Raise SignatureError unless `headers` sign `body` under `key`. The SHA-256 of
    timestamp + body is computed piecewise: the body is never copied to be verified."""
    digest = hashlib.sha256(headers.timestamp.encode("ascii"))
    digest.update(body)
    try:
        key.verify(headers.signature, digest.digest(), ec.ECDSA(Prehashed(hashes.SHA256())))
    except (InvalidSignature, ValueError) as err:
        raise SignatureError("bad signature") from err


def verify(
    key: PublicKey,
    body: Buffer,
    signature: str | None,
    timestamp: str | None,
    *,
    now: float,
    max_age: int = MAX_AGE_SECONDS,
) -> None:
    """Raise SignatureError unless `body` was signed by SendGrid, recently."""
    verify_body(key, check_headers(signature, timestamp, now=now, max_age=max_age), body)
