"""The exception tree (newsletter/errors.py): configuration errors stand outside the
catch-all, and everything under the root is reported with its own exit code."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from newsletter import errors
from newsletter.cli.app import report_errors
from newsletter.errors import (
    EXIT_BAD_INPUT,
    EXIT_CONFIG,
    BaseNewsletterError,
    ConfigError,
    DigestFileError,
    InputError,
    NewsletterError,
    UnsupportedFeatureError,
)


def skip_broken(items: list[BaseNewsletterError | None]) -> Iterator[int]:
    """The shape of every loop that skips one broken item (a digest, a row, an issue)
    with `except NewsletterError` and goes on with the others."""
    for number, item in enumerate(items):
        try:
            if item is not None:
                raise item
        except NewsletterError:
            continue
        yield number


def test_a_config_error_inside_a_skipping_loop_propagates() -> None:
    """A loop that skips items failing with NewsletterError skips a broken digest but
    lets a ConfigError through: a wrong configuration fails every item alike, so
    skipping it would hide it (before, ConfigError was a NewsletterError and vanished)."""
    broken = DigestFileError("digests/bad.json: not JSON")
    assert list(skip_broken([None, broken, None])) == [0, 2]
    with pytest.raises(ConfigError, match="NEWSLETTER_SECRET is not set"):
        list(skip_broken([None, broken, ConfigError("NEWSLETTER_SECRET is not set")]))


def test_the_cli_reports_a_config_error_from_such_a_loop_with_exit_4() -> None:
    """A command whose loop skips NewsletterError still stops on a ConfigError, and
    report_errors (which catches the root) prints its message and hint, exit 4."""

    @click.command()
    @report_errors
    def command() -> None:
        items = [None, ConfigError("NEWSLETTER_SECRET is not set", hint="export it")]
        for number in skip_broken(items):
            click.echo(f"item {number}")

    result = CliRunner().invoke(command, [])
    assert result.exit_code == EXIT_CONFIG == 4
    assert result.stdout == "item 0\n"
    assert result.stderr == "NEWSLETTER_SECRET is not set\nhint: export it\n"


def test_the_tree_is_as_drawn() -> None:
    """ConfigError and NewsletterError are the root's two children; every other error
    of the module is a NewsletterError; UnsupportedFeatureError is an input error (3)."""
    classes = [
        value
        for value in vars(errors).values()
        if inspect.isclass(value) and issubclass(value, BaseNewsletterError)
    ]
    for cls in classes:
        if cls in (BaseNewsletterError, NewsletterError, ConfigError):
            continue
        assert issubclass(cls, NewsletterError), cls
        assert cls.__name__ in (errors.__doc__ or ""), cls
    assert not issubclass(ConfigError, NewsletterError)
    assert ConfigError.__bases__ == (BaseNewsletterError,)
    assert NewsletterError.__bases__ == (BaseNewsletterError,)
    assert issubclass(UnsupportedFeatureError, InputError)
    assert UnsupportedFeatureError("x").exit_code == EXIT_BAD_INPUT


def test_detail_exists_on_every_error_and_defaults_to_none() -> None:
    """The documented `detail` attribute exists on the root, so any error can be asked
    for it; it is None unless a transport set the provider's words."""
    assert ConfigError("x").detail is None
    assert InputError("x").detail is None
    assert errors.PermanentDeliveryError("x", detail="Bad Request").detail == "Bad Request"
    assert errors.RateLimitedError("x", retry_after=1, detail="slow down").detail == "slow down"
