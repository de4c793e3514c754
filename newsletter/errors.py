"""The one exception hierarchy of the package.

Every error a user can cause or meet carries a message written for them and,
where one helps, a hint. Lower libraries' errors are translated into these at
the boundary where they happen (``raise ... from err``); only the CLI prints
them and turns them into exit codes::

    NewsletterError                 exit_code
    ├── InputError                  3   a file the user gave is unusable
    │   ├── DigestFileError             missing, not UTF-8, not JSON
    │   └── DigestInvalidError          valid JSON, but not a valid digest
    ├── ConfigError                 4   config.yaml or environment is wrong
    ├── RenderError                 6   the templates could not produce an email
    └── StoreError                  7   the subscriber store failed

Exit codes 0 (done), 1 (done, some recipients failed), 2 (command-line usage)
and 5 (another run holds the lock) are reserved for the CLI and dispatch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_CONFIG = 4
EXIT_LOCKED = 5
EXIT_RENDER = 6
EXIT_STORE = 7


class NewsletterError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def lines(self) -> list[str]:
        """The message as the user should read it, one entry per line."""
        return [self.message] + ([f"hint: {self.hint}"] if self.hint else [])


class InputError(NewsletterError):
    """A file or argument the user gave cannot be used."""


class DigestFileError(InputError):
    """A digest file is missing, unreadable, not UTF-8 or not JSON."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a digest: where (a JSON path), what, and what is expected."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class DigestInvalidError(InputError):
    """A digest parsed as JSON but breaks one or more rules of the format."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{source}: {count} {noun} in the digest")
        self.source = source
        self.problems = tuple(problems)

    def lines(self) -> list[str]:
        return [self.message] + [f"  {self.source}: {problem}" for problem in self.problems]


class ConfigError(NewsletterError):
    """config.yaml or a required environment variable is missing or wrong."""

    exit_code = EXIT_CONFIG


class RenderError(NewsletterError):
    """The templates could not turn a valid digest into an email."""

    exit_code = EXIT_RENDER


class StoreError(NewsletterError):
    """The subscriber store could not be read or written."""

    exit_code = EXIT_STORE
