"""Email addresses: trimmed, checked for syntax (no DNS), compared without case.

email-validator is the authority on what is valid. It costs about 40 µs an
address, which is 40 s for a million-row list, so the common shape takes a
shortcut that asks it the same question only once per distinct domain: a plain
ASCII local part (letters, digits and ``._%+-``, dots not leading, trailing or
doubled, at most 64 characters) followed by a domain that email-validator has
already accepted. Anything else goes through email-validator whole. A property
test checks that the shortcut never disagrees with email-validator.

The normal form is email-validator's normalised address, lower-cased: two
addresses are the same subscriber when their normal forms are equal. An IDN
domain is kept in its Unicode form (``user@bücher.example``, also when given as
``xn--bcher-kva``); `ascii_email` gives the form that is sent.

What may be stored as a new subscriber is narrower than what is valid
(`deliverable_email`): every transport must be able to carry it. A non-ASCII
local part (``ñoño@example.com``) needs SMTPUTF8 (RFC 6531), which SendGrid's
API does not offer and our SMTP client does not use, so it is refused at import,
`subscribers add` and for previews, with that reason. Looking up, unsubscribing
or suppressing an address already stored takes any valid address.
"""

from __future__ import annotations

import re
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from newsletter.errors import AddressError

_SIMPLE = re.compile(r"([A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*)@([A-Za-z0-9.-]+)")
# An ASCII address that needs no further work to be sent: dot-atom local part, LDH domain.
_WIRE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
_MAX_LOCAL = 64
_MAX_SIMPLE = 200  # well inside the 254-character limit, so no length rule can differ
_DOMAIN_CACHE = 65_536  # distinct domains remembered; a list has far fewer


class InvalidAddressError(ValueError):
    """An address email-validator rejects; the message says why, for editors."""


def normalise_email(raw: str) -> str:
    """The normal form of `raw`; InvalidAddressError with the reason when it is not valid."""
    text = raw.strip()
    simple = _SIMPLE.fullmatch(text) if len(text) <= _MAX_SIMPLE else None
    if simple is not None and simple.end(1) <= _MAX_LOCAL:
        domain = _checked_domain(simple.group(2))
        if domain:
            return text[: simple.end(1) + 1].lower() + domain
    return _validate_whole(text)


NON_ASCII_LOCAL_PART = (
    "the part before the @ has non-ASCII characters, which need SMTPUTF8: "
    "SendGrid and SMTP without SMTPUTF8 cannot deliver it"
)


def deliverable_email(raw: str) -> str:
    """normalise_email, refusing what a transport cannot carry (a non-ASCII local part).

    Use it wherever a new subscriber is stored; InvalidAddressError says why."""
    normal = normalise_email(raw)
    if not normal.isascii() and not normal.rsplit("@", 1)[0].isascii():
        raise InvalidAddressError(NON_ASCII_LOCAL_PART)
    return normal


def parse_email(raw: str, *, new: bool = False) -> str:
    """normalise_email for an address typed by a user: AddressError when invalid.

    `new`: the address is about to be stored as a subscriber (deliverable_email)."""
    try:
        return deliverable_email(raw) if new else normalise_email(raw)
    except InvalidAddressError as err:
        raise AddressError(f"{raw.strip()!r} is not a valid email address: {err}") from err


def ascii_email(address: str) -> str:
    """The address as it is sent: the domain in IDNA (punycode) form (RFC 5890).

    InvalidAddressError for a non-ASCII local part or an invalid address. Stored
    addresses are almost all ASCII and pass through a cheap check."""
    if address.isascii() and _WIRE.fullmatch(address):
        return address
    if not address.rpartition("@")[0].isascii():
        raise InvalidAddressError(NON_ASCII_LOCAL_PART)
    return _ascii_email(address)


@lru_cache(maxsize=4096)
def _ascii_email(address: str) -> str:
    try:
        checked = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as err:
        raise InvalidAddressError(str(err)) from err
    if checked.ascii_email is None:  # pragma: no cover - allow_smtputf8=False guarantees it
        raise InvalidAddressError(NON_ASCII_LOCAL_PART)
    return str(checked.ascii_email)


_domains: dict[str, str] = {}


def _checked_domain(domain: str) -> str:
    """The lower-case normalised domain if email-validator accepts it, else ''.

    A plain dict, not lru_cache: this runs once per row of a million-row file."""
    found = _domains.get(domain)
    if found is None:
        if len(_domains) >= _DOMAIN_CACHE:
            _domains.clear()  # bounds memory on a file of endless distinct domains
        try:
            found = validate_email(f"a@{domain}", check_deliverability=False).domain.lower()
        except EmailNotValidError:
            found = ""  # not the simple case: the whole address takes the slow path
        _domains[domain] = found
    return found


def _validate_whole(text: str) -> str:
    if not text:
        raise InvalidAddressError("the address is empty")
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as err:
        raise InvalidAddressError(str(err)) from err
