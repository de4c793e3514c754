"""Address normalisation: email-validator decides, the fast path never disagrees."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given
from hypothesis import strategies as st

from newsletter.addresses import InvalidAddressError, normalise_email, parse_email
from newsletter.errors import AddressError
from newsletter.jsontext import dump_flat_json, dump_json

LOCAL_CHARS = "abcXYZ019._%+-'!#é "
DOMAIN_CHARS = "abcXYZ019.-_é"


def reference(raw: str) -> str | None:
    """What email-validator alone says: the normal form, or None if invalid."""
    text = raw.strip()
    if not text:
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def ours(raw: str) -> str | None:
    try:
        return normalise_email(raw)
    except InvalidAddressError:
        return None


@given(
    st.text(LOCAL_CHARS, min_size=0, max_size=70),
    st.text(DOMAIN_CHARS, min_size=0, max_size=30),
    st.sampled_from(["com", "org", "KZ", "x", "", "c0m", "photography"]),
    st.sampled_from(["", " ", "\t"]),
)
def test_fast_path_agrees_with_email_validator(local: str, domain: str, tld: str, pad: str) -> None:
    """For any address, normalise_email accepts and rejects exactly as email-validator does."""
    raw = f"{pad}{local}@{domain}{'.' if tld else ''}{tld}{pad}"
    assert ours(raw) == reference(raw)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        (" Ann.Smith@Example.COM ", "ann.smith@example.com"),
        ("user+tag@sub.example.org", "user+tag@sub.example.org"),
        ("Postmaster@Example.com", "postmaster@example.com"),
        ("andré@exämple.com", "andré@exämple.com"),
        ("o'brien@example.com", "o'brien@example.com"),
    ],
)
def test_addresses_normalise_to_one_lower_case_form(raw: str, normal: str) -> None:
    """Trimmed and lower-cased, internationalised addresses included."""
    assert normalise_email(raw) == normal


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("ann", "@-sign"),
        ("ann@", "after the @-sign"),
        ("ann@localhost", "not valid"),
        ("ann..smith@example.com", "period"),
        ("Ann <ann@example.com>", "display name"),
    ],
)
def test_invalid_addresses_say_why(raw: str, reason: str) -> None:
    """Invalid addresses raise InvalidAddressError with email-validator's reason."""
    with pytest.raises(InvalidAddressError, match=reason):
        normalise_email(raw)


def test_parse_email_is_an_input_error_for_users() -> None:
    """An address typed on the command line becomes an AddressError quoting it."""
    with pytest.raises(AddressError, match="'ann@' is not a valid email address"):
        parse_email(" ann@ ")


@given(st.dictionaries(st.text(max_size=8), st.text(max_size=12), max_size=5))
def test_flat_json_is_spelled_exactly_like_the_store_json(attributes: dict[str, str]) -> None:
    """The fast attribute encoder writes the same text as the store's JSON serialiser."""
    assert dump_flat_json(attributes) == dump_json(attributes)
