"""Verifying SendGrid's signed Event Webhook requests.

SendGrid signs `timestamp + raw body` with ECDSA P-256 / SHA-256 and sends the
base64 DER signature and the timestamp in two headers. We check the signature
with the public key from config.yaml, and refuse requests whose timestamp is
too old (or too far in the future): a captured request cannot be replayed later.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

from newsletter.errors import ConfigError, SignatureError

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
MAX_AGE_SECONDS = 300


def load_public_key(text: str) -> ec.EllipticCurvePublicKey:
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


def verify(
    key: ec.EllipticCurvePublicKey,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    now: float,
    max_age: int = MAX_AGE_SECONDS,
) -> None:
    """Raise SignatureError unless `body` was signed by SendGrid, recently."""
    if not signature or not timestamp:
        raise SignatureError("unsigned request: signature headers missing")
    try:
        signed_at = int(timestamp)
    except ValueError as err:
        raise SignatureError("malformed signature timestamp") from err
    if abs(now - signed_at) > max_age:
        raise SignatureError("signature timestamp outside the accepted window (replay?)")
    try:
        der = base64.b64decode(signature, validate=True)
        key.verify(der, timestamp.encode("ascii") + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, binascii.Error, UnicodeEncodeError) as err:
        raise SignatureError("bad signature") from err
