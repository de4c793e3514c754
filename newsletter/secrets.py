"""Secrets come from environment variables only, never from config.yaml or files.

A secret is held in a `Secret`, whose repr and str hide the value, so it cannot
reach a log line, an error message or a traceback's locals by accident; code
that really needs the value calls `reveal()`. A missing or unusable secret is a
ConfigError that names the variable and how to set it, never the value.
"""

from __future__ import annotations

import os
from typing import Final

from newsletter.errors import ConfigError

NEWSLETTER_SECRET: Final = "NEWSLETTER_SECRET"  # noqa: S105 - a variable name, not a secret
# The bearer token that opens the web's /reports/ pages; unset, the pages do not exist.
NEWSLETTER_REPORT_TOKEN: Final = "NEWSLETTER_REPORT_TOKEN"  # noqa: S105 - a variable name
# Shorter keys are guessable offline from one token; 32 random characters is easy to make.
MIN_SIGNING_SECRET_LENGTH: Final = 32
_GENERATE_HINT = (
    "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))' "
    "and keep it the same across runs and hosts (changing it invalidates old links)"
)
# What to do about each variable; a variable not listed gets the generic hint.
HINTS: Final = {
    NEWSLETTER_SECRET: _GENERATE_HINT,
    NEWSLETTER_REPORT_TOKEN: (
        "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))', "
        "export it as NEWSLETTER_REPORT_TOKEN where `newsletter serve` runs, and send it as "
        "`Authorization: Bearer …`; unset it to turn the reports off"
    ),
    "SENDGRID_API_KEY": (
        "create an API key with the Mail Send permission in SendGrid (Settings → API Keys) "
        "and export it as SENDGRID_API_KEY in the environment that runs newsletter"
    ),
    "NEWSLETTER_SMTP_PASSWORD": (
        "export NEWSLETTER_SMTP_PASSWORD with the SMTP account's password, or unset "
        "NEWSLETTER_SMTP_USERNAME to send without logging in"
    ),
}


def hint_for(name: str) -> str:
    """How to set environment variable `name` (secrets are never read from config.yaml)."""
    return HINTS.get(
        name, f"export {name} in the environment that runs newsletter (never in config.yaml)"
    )


class Secret:
    """A secret value that never shows itself in repr, str or comparisons' output."""

    __slots__ = ("_name", "_value")

    def __init__(self, name: str, value: str) -> None:
        self._name = name
        self._value = value

    @property
    def name(self) -> str:
        """The environment variable the secret came from."""
        return self._name

    def reveal(self) -> str:
        """The value itself: call only where it is used, never to print it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self._name}=********)"

    __str__ = __repr__


def read_secret(
    name: str,
    *,
    purpose: str,
    min_length: int = 1,
    allow_surrounding_space: bool = False,
) -> Secret:
    """The secret in environment variable `name`.

    Raises ConfigError, with the hint for that variable, when it is missing or blank,
    has spaces or line breaks around it (a pasted line, a file's last newline: the
    value would silently differ from the one meant; refused unless
    `allow_surrounding_space`, for passwords), holds control characters, or is
    shorter than `min_length` characters measured without surrounding whitespace
    (31 spaces and a letter are one character of secret, not 32)."""
    value = os.environ.get(name, "")
    hint = hint_for(name)
    stripped = value.strip()
    if not stripped:
        raise ConfigError(f"{name} is not set; it is needed to {purpose}", hint=hint)
    if stripped != value and not allow_surrounding_space:
        raise ConfigError(
            f"{name} has spaces or line breaks before or after it; remove them", hint=hint
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in stripped):
        raise ConfigError(f"{name} contains a control character or line break", hint=hint)
    if len(stripped) < min_length:
        raise ConfigError(
            f"{name} is too short to {purpose}: use at least {min_length} characters "
            "(not counting spaces around it)",
            hint=hint,
        )
    return Secret(name, value)


def signing_secret() -> Secret:
    """NEWSLETTER_SECRET, the key that signs unsubscribe tokens."""
    return read_secret(
        NEWSLETTER_SECRET,
        purpose="sign unsubscribe links",
        min_length=MIN_SIGNING_SECRET_LENGTH,
    )


def report_token() -> Secret | None:
    """NEWSLETTER_REPORT_TOKEN, the bearer token of the web's reports, or None when it is
    not set (the reports are then not served at all). ConfigError when it is set but
    unusable: blank, padded, with control characters, or shorter than 32 characters (a
    token is guessed online, one request at a time, but it opens every report)."""
    if NEWSLETTER_REPORT_TOKEN not in os.environ:
        return None
    return read_secret(
        NEWSLETTER_REPORT_TOKEN,
        purpose="open the web's reports",
        min_length=MIN_SIGNING_SECRET_LENGTH,
    )
