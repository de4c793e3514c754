"""Unsubscribe tokens: signed, URL-safe, rejected when tampered or foreign; secrets stay hidden."""

from __future__ import annotations

import base64
import hmac
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.errors import ConfigError, SubscriberNotFoundError, TokenError
from newsletter.secrets import NEWSLETTER_SECRET, Secret, read_secret, signing_secret
from newsletter.store import Store
from newsletter.tokens import TokenSigner, make_token, read_token

KEY = Secret(NEWSLETTER_SECRET, "k" * 40)
OTHER = Secret(NEWSLETTER_SECRET, "z" * 40)


def test_a_token_round_trips_and_is_url_safe() -> None:
    """read_token(make_token(id)) gives the id back; the token needs no URL escaping."""
    token = make_token(12345, KEY)
    assert read_token(token, KEY) == 12345
    assert re.fullmatch(r"[A-Za-z0-9._-]+", token)
    assert make_token(12345, KEY) == token  # deterministic: nothing to store


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: "12346" + t[t.index(".") :],  # another subscriber's id
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one signature character
        lambda t: t + "x",
        lambda t: t.split(".")[0],
        lambda t: "",
        lambda t: "0." + t.split(".")[1],
    ],
)
def test_a_tampered_token_is_rejected(tamper: object) -> None:
    """Changing the id, the signature or the shape gives a TokenError."""
    token = make_token(12345, KEY)
    with pytest.raises(TokenError):
        read_token(tamper(token), KEY)  # type: ignore[operator]


def test_a_token_signed_with_another_secret_is_rejected() -> None:
    """A token from another installation (another secret) is not accepted."""
    with pytest.raises(TokenError, match="not issued by this newsletter"):
        read_token(make_token(7, OTHER), KEY)


def test_a_token_for_another_purpose_is_rejected() -> None:
    """The purpose is signed too: a token made for something else does not unsubscribe."""
    with pytest.raises(TokenError):
        read_token(make_token(7, KEY, purpose="preferences"), KEY)


def test_missing_or_short_secret_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without NEWSLETTER_SECRET (or with a weak one) the error names it and how to make one."""
    monkeypatch.delenv(NEWSLETTER_SECRET, raising=False)
    with pytest.raises(ConfigError) as caught:
        signing_secret()
    assert "NEWSLETTER_SECRET is not set" in caught.value.message
    assert caught.value.hint is not None and "token_urlsafe" in caught.value.hint
    monkeypatch.setenv(NEWSLETTER_SECRET, "short-and-secret")
    with pytest.raises(ConfigError) as short:
        signing_secret()
    assert "too short" in short.value.message
    assert "short-and-secret" not in " ".join(short.value.lines())


def test_a_secret_never_shows_its_value() -> None:
    """repr and str of a Secret (as in a log line or traceback) hide the value."""
    secret = read_secret("PATH", purpose="test")
    assert secret.reveal() and secret.reveal() not in repr(secret)
    assert str(secret) == "Secret(PATH=********)"


def test_the_store_finds_the_subscriber_a_token_names(store: Store) -> None:
    """token_for and subscriber_for_token round-trip through the store."""
    store.subscribers.add("a@example.com", "weekly")
    token = store.subscribers.token_for("A@example.com", KEY)
    found = store.subscribers.subscriber_for_token(token, KEY)
    assert found.email == "a@example.com"
    with pytest.raises(SubscriberNotFoundError):
        store.subscribers.subscriber_for_token(make_token(999_999, KEY), KEY)
    with pytest.raises(TokenError):
        store.subscribers.subscriber_for_token(token, OTHER)


@pytest.mark.parametrize("secret_text", ["s", "k" * 64, "long-" * 40, "ключ-секрет-ü"])
@pytest.mark.parametrize("subscriber_id", [1, 42, 10**9, 2**63 - 1])
def test_the_pre_keyed_signer_is_rfc_2104_hmac_sha256(secret_text: str, subscriber_id: int) -> None:
    """TokenSigner's pre-keyed states give exactly the standard library's HMAC-SHA256 of
    the token message, for short, block-sized, longer-than-a-block (hashed first, RFC 2104
    §2) and non-ASCII secrets, so every token already sent still reads back."""
    key = secret_text.encode("utf-8")
    message = f"newsletter/unsubscribe/v1/{subscriber_id}".encode()
    digest = hmac.digest(key, message, "sha256")
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    secret = Secret(NEWSLETTER_SECRET, secret_text)
    assert TokenSigner(secret)(subscriber_id) == f"{subscriber_id}.{expected}"
    assert make_token(subscriber_id, secret) == f"{subscriber_id}.{expected}"
    assert read_token(f"{subscriber_id}.{expected}", secret) == subscriber_id


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.integers(min_value=1, max_value=2**63 - 1), max_size=40),
    purpose=st.sampled_from(["unsubscribe", "preferences"]),
)
def test_a_batch_of_tokens_is_the_tokens_one_by_one(ids: list[int], purpose: str) -> None:
    """TokenSigner.many (a send's batch of a thousand readers at once, its digests
    base64-encoded together) gives exactly the tokens the signer gives one id at a time,
    in order, for any ids and purpose: each the standard library's HMAC-SHA256 in
    unpadded base64url."""
    signer = TokenSigner(KEY, purpose)
    key = KEY.reveal().encode("utf-8")
    expected = [
        f"{i}."
        + base64.urlsafe_b64encode(
            hmac.digest(key, f"newsletter/{purpose}/v1/{i}".encode(), "sha256")
        )
        .rstrip(b"=")
        .decode("ascii")
        for i in ids
    ]
    assert signer.many(ids) == expected
    base = "https://news.example.com/unsubscribe/"
    assert signer.many(ids, before=base) == [base + token for token in expected]
    assert [signer(i) for i in ids] == expected


@pytest.mark.parametrize("bad", [0, -1, 2**63])
def test_a_batch_with_an_id_out_of_range_is_refused(bad: int) -> None:
    """An id outside 1…2**63-1 anywhere in the batch is a ValueError, as one by one."""
    with pytest.raises(ValueError, match=str(bad)):
        TokenSigner(KEY).many([1, bad, 3])


def test_an_expiring_token_round_trips_until_its_expiry() -> None:
    """read_expiring_token gives the id back before the expiry; at it, TokenExpiredError."""
    from datetime import UTC, datetime, timedelta

    from newsletter.errors import TokenExpiredError
    from newsletter.tokens import CONFIRM, make_expiring_token, read_expiring_token

    now = datetime(2027, 1, 1, tzinfo=UTC)
    token = make_expiring_token(42, KEY, purpose=CONFIRM, expires_at=now + timedelta(days=7))
    assert read_expiring_token(token, KEY, purpose=CONFIRM, now=now) == 42
    later = now + timedelta(days=7)
    with pytest.raises(TokenExpiredError):
        read_expiring_token(token, KEY, purpose=CONFIRM, now=later)
    with pytest.raises(TokenError) as foreign:
        read_expiring_token(token, OTHER, purpose=CONFIRM, now=later)
    assert not isinstance(foreign.value, TokenExpiredError)  # forged: never "expired"
    with pytest.raises(TokenError):
        read_expiring_token(token, KEY, purpose="change-address", now=now)
    moved = token.split(".")
    moved[1] = str(int(moved[1]) + 86_400)
    with pytest.raises(TokenError):
        read_expiring_token(".".join(moved), KEY, purpose=CONFIRM, now=now)
    with pytest.raises(TokenError):
        read_token(token, KEY, purpose=CONFIRM)  # not a plain token either
