"""Webhook signatures: only SendGrid's, only recent ones."""

from __future__ import annotations

import pytest

from newsletter.errors import ConfigError, SignatureError
from newsletter.feedback.signature import load_public_key, verify
from tests.feedback.signing import Signer

NOW = 1_800_000_000
BODY = b'[{"email":"a@example.com","event":"delivered","sg_event_id":"e1","timestamp":1}]'


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.new()


def check(signer: Signer, body: bytes, headers: dict[str, str], now: int = NOW) -> None:
    key = load_public_key(signer.public_key_b64)
    verify(
        key,
        body,
        headers.get("X-Twilio-Email-Event-Webhook-Signature"),
        headers.get("X-Twilio-Email-Event-Webhook-Timestamp"),
        now=now,
    )


def test_genuine_request_verifies(signer: Signer) -> None:
    """A body signed with the matching private key, just now, passes."""
    check(signer, BODY, signer.sign(BODY, NOW - 5))


def test_tampered_body_is_refused(signer: Signer) -> None:
    """Changing one byte of the body breaks the signature."""
    with pytest.raises(SignatureError, match="bad signature"):
        check(signer, BODY.replace(b"delivered", b"bounce"), signer.sign(BODY, NOW))


def test_wrong_key_is_refused(signer: Signer) -> None:
    """A request signed by someone else's key is refused."""
    with pytest.raises(SignatureError, match="bad signature"):
        check(signer, BODY, Signer.new().sign(BODY, NOW))


def test_old_timestamp_is_refused(signer: Signer) -> None:
    """A correctly signed request older than five minutes is a replay: refused."""
    with pytest.raises(SignatureError, match="outside the accepted window"):
        check(signer, BODY, signer.sign(BODY, NOW - 301))


def test_changed_timestamp_is_refused(signer: Signer) -> None:
    """The timestamp is signed too: moving it forward breaks the signature."""
    headers = signer.sign(BODY, NOW - 100)
    headers["X-Twilio-Email-Event-Webhook-Timestamp"] = str(NOW)
    with pytest.raises(SignatureError, match="bad signature"):
        check(signer, BODY, headers)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Twilio-Email-Event-Webhook-Timestamp": str(NOW)},
        {
            "X-Twilio-Email-Event-Webhook-Signature": "not base64!",
            "X-Twilio-Email-Event-Webhook-Timestamp": str(NOW),
        },
        {
            "X-Twilio-Email-Event-Webhook-Signature": "AAAA",
            "X-Twilio-Email-Event-Webhook-Timestamp": "yesterday",
        },
    ],
)
def test_missing_or_malformed_headers(signer: Signer, headers: dict[str, str]) -> None:
    """Unsigned or garbled signature headers are refused, never an exception of another kind."""
    with pytest.raises(SignatureError):
        check(signer, BODY, headers)


def test_pem_key_accepted(signer: Signer) -> None:
    """The key may also be given as PEM."""
    from cryptography.hazmat.primitives import serialization

    pem = signer.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    verify(load_public_key(pem.decode()), BODY, **_parts(signer.sign(BODY, NOW)), now=NOW)


def _parts(headers: dict[str, str]) -> dict[str, str]:
    return {
        "signature": headers["X-Twilio-Email-Event-Webhook-Signature"],
        "timestamp": headers["X-Twilio-Email-Event-Webhook-Timestamp"],
    }


def test_bad_configured_key_is_a_config_error() -> None:
    """A wrong key in config.yaml is a ConfigError naming the setting."""
    with pytest.raises(ConfigError, match="sendgrid_public_key"):
        load_public_key("bm90IGEga2V5")
