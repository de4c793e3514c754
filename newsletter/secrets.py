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
# Shorter keys are guessable offline from one token; 32 random characters is easy to make.
MIN_SIGNING_SECRET_LENGTH: Final = 32
_GENERATE_HINT = (
    "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))' "
    "and keep it the same across runs and hosts (changing it invalidates old links)"
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


def read_secret(name: str, *, purpose: str, min_length: int = 1) -> Secret:
    """The secret in environment variable `name`; ConfigError when missing or too short."""
    value = os.environ.get(name, "")
    if not value.strip():
        raise ConfigError(f"{name} is not set; it is needed to {purpose}", hint=_GENERATE_HINT)
    if len(value) < min_length:
        raise ConfigError(
            f"{name} is too short to {purpose}: use at least {min_length} characters",
            hint=_GENERATE_HINT,
        )
    return Secret(name, value)


def signing_secret() -> Secret:
    """NEWSLETTER_SECRET, the key that signs unsubscribe tokens."""
    return read_secret(
        NEWSLETTER_SECRET,
        purpose="sign unsubscribe links",
        min_length=MIN_SIGNING_SECRET_LENGTH,
    )
