"""Preference and expiring tokens (newsletter.tokens): purposes keep links apart, the
expiry is signed and enforced, and a forged token is never reported as merely expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsletter.errors import TokenError, TokenExpiredError
from newsletter.secrets import NEWSLETTER_SECRET, Secret
from newsletter.tokens import (
    CHANGE_ADDRESS,
    PREFERENCES,
    UNSUBSCRIBE,
    make_expiring_token,
    make_token,
    read_expiring_token,
    read_token,
)

KEY = Secret(NEWSLETTER_SECRET, "k" * 40)
OTHER = Secret(NEWSLETTER_SECRET, "z" * 40)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=7)


def test_a_preference_token_opens_nothing_else() -> None:
    """The preference page's token is not an unsubscribe token, nor the reverse."""
    token = make_token(7, KEY, purpose=PREFERENCES)
    assert read_token(token, KEY, purpose=PREFERENCES) == 7
    with pytest.raises(TokenError):
        read_token(token, KEY, purpose=UNSUBSCRIBE)
    with pytest.raises(TokenError):
        read_token(make_token(7, KEY), KEY, purpose=PREFERENCES)


def test_an_expiring_token_works_until_its_expiry() -> None:
    """Read back before the expiry; TokenExpiredError at and after it."""
    token = make_expiring_token(42, KEY, purpose=CHANGE_ADDRESS, expires_at=LATER)
    assert read_expiring_token(token, KEY, purpose=CHANGE_ADDRESS, now=NOW) == 42
    for moment in (LATER, LATER + timedelta(days=1)):
        with pytest.raises(TokenExpiredError):
            read_expiring_token(token, KEY, purpose=CHANGE_ADDRESS, now=moment)


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t.replace(".", ".9", 1),  # another id's digits
        lambda t: ".".join([t.split(".")[0], str(int(t.split(".")[1]) + 86_400), t.split(".")[2]]),
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: t.rsplit(".", 1)[0],
        lambda t: "",
    ],
)
def test_a_forged_expiring_token_is_refused_not_expired(forge: object) -> None:
    """Another id, a pushed-back expiry, a changed signature, a cut token: TokenError,
    never TokenExpiredError (even when read after the expiry)."""
    token = make_expiring_token(42, KEY, purpose=CHANGE_ADDRESS, expires_at=LATER)
    forged = forge(token)  # type: ignore[operator]
    for moment in (NOW, LATER + timedelta(days=30)):
        with pytest.raises(TokenError) as caught:
            read_expiring_token(forged, KEY, purpose=CHANGE_ADDRESS, now=moment)
        assert not isinstance(caught.value, TokenExpiredError)


def test_an_expiring_token_is_bound_to_its_purpose_and_secret() -> None:
    """Signed for another purpose or under another secret: TokenError."""
    token = make_expiring_token(42, KEY, purpose=CHANGE_ADDRESS, expires_at=LATER)
    with pytest.raises(TokenError):
        read_expiring_token(token, KEY, purpose="confirm", now=NOW)
    with pytest.raises(TokenError):
        read_expiring_token(token, OTHER, purpose=CHANGE_ADDRESS, now=NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        make_expiring_token(1, KEY, purpose=CHANGE_ADDRESS, expires_at=LATER.replace(tzinfo=None))
