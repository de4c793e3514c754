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
`subscribers add` and for previews, with that reason; so is a local part
holding ``=?`` (it can be decoded as an RFC 2047 encoded word). Looking up, unsubscribing
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
# An address already in the form it is sent (ASCII, no encoded words): `ascii_email`'s
# fast path, also used where a batch of addresses is written at once.
WIRE_SHAPE = _WIRE
_MAX_LOCAL = 64
_MAX_SIMPLE = 200  # well inside the 254-character limit, so no length rule can differ
_DOMAIN_CACHE = 65_536  # distinct domains remembered; a list has far fewer


class InvalidAddressError(ValueError):
    """An address email-validator rejects; the message says why, for editors."""


def normalise_email(raw: str) -> str:
    """The normal form of `raw`; InvalidAddressError with the reason when it is not valid."""
    found = simple_email(raw)
    return found if found is not None else _validate_whole(raw.strip())


def simple_email(raw: str) -> str | None:
    """The normal form of `raw` if it has the common shape described above, else None
    (then only email-validator can tell). Such an address is also deliverable: its local
    part is ASCII and cannot hold ``=?``."""
    text = raw.strip()
    simple = _SIMPLE.fullmatch(text) if len(text) <= _MAX_SIMPLE else None
    if simple is not None and simple.end(1) <= _MAX_LOCAL:
        domain = _domains.get(simple.group(2)) or _checked_domain(simple.group(2))
        if domain:
            return text[: simple.end(1) + 1].lower() + domain
    return None


NON_ASCII_LOCAL_PART = (
    "the part before the @ has non-ASCII characters, which need SMTPUTF8: "
    "SendGrid and SMTP without SMTPUTF8 cannot deliver it"
)
ENCODED_WORD_LOCAL_PART = (
    "the part before the @ contains '=?', which mail programs may decode as an "
    "RFC 2047 encoded word, turning the address into another one"
)


def undeliverable_reason(address: str) -> str | None:
    """Why a valid `address` cannot be carried by every transport, or None if it can.

    A non-ASCII local part needs SMTPUTF8 (RFC 6531). A local part holding ``=?``
    can be read as an RFC 2047 encoded word: Python's own header parser decodes
    ``=?utf-8?q?x?=@example.com`` to ``x@example.com``, and so may a reader's mail
    program, so no header naming it can be checked to name the intended address."""
    local = address.rpartition("@")[0]
    if not local.isascii():
        return NON_ASCII_LOCAL_PART
    if "=?" in local:
        return ENCODED_WORD_LOCAL_PART
    return None


def deliverable_email(raw: str) -> str:
    """normalise_email, refusing what a transport cannot carry (`undeliverable_reason`).

    Use it wherever a new subscriber is stored; InvalidAddressError says why."""
    normal = normalise_email(raw)
    reason = undeliverable_reason(normal)
    if reason is not None:
        raise InvalidAddressError(reason)
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

    InvalidAddressError for an address no transport may carry (`undeliverable_reason`,
    also for addresses stored before that rule) or an invalid one. Stored addresses
    are almost all ASCII and pass through a cheap check."""
    if "=?" not in address and address.isascii() and _WIRE.fullmatch(address):
        return address
    reason = undeliverable_reason(address)
    if reason is not None:
        raise InvalidAddressError(reason)
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
