"""The `newsletter` command group, shared options and error reporting."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar

import click

from newsletter.api import Newsletter
from newsletter.cli.terminal import inert_lines
from newsletter.config import Config, load_config
from newsletter.errors import BaseNewsletterError, InternalError, describe_error

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class AppContext:
    """What every command can reach: the config, loaded lazily."""

    config_path: Path | None
    _config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @property
    def api(self) -> Newsletter:
        """The public API on this config: every command is a call of it."""
        return Newsletter(self.config)


EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a killed writer


def report_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn any of our errors (BaseNewsletterError: ConfigError too, which stands outside
    NewsletterError) into its message on stderr and its exit code; anything
    else (a bug, an untranslated library error) into one line and exit 9, never a
    traceback. What a command recorded before it stopped stays consistent: the
    library commits per step. Messages may quote outside text (a cell, a provider's
    answer): they are made inert first."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except BaseNewsletterError as err:
            for number, line in enumerate(err.lines()):
                click.secho(inert_lines(line), fg="red" if number == 0 else None, err=True)
            sys.exit(err.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click's own: usage errors (exit 2) and exits, printed by click
        except BrokenPipeError:
            # The reader of our output went away (`… | head -1`): not a bug. Stop quietly
            # with the shell's code for SIGPIPE, and point stdout at /dev/null so the
            # interpreter's final flush does not raise again (Python docs, "Note on SIGPIPE").
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(EXIT_BROKEN_PIPE)
        except Exception as err:  # the last boundary: the user never gets a traceback
            unexpected = InternalError(
                f"unexpected error: {describe_error(err)}",
                hint="run the same command again to resume; please report this error",
            )
            for number, line in enumerate(unexpected.lines()):
                click.secho(inert_lines(line), fg="red" if number == 0 else None, err=True)
            sys.exit(unexpected.exit_code)

    return wrapper


def warn(message: str) -> None:
    click.secho(f"warning: {inert_lines(message)}", fg="yellow", err=True)


pass_app = click.make_pass_decorator(AppContext)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="config.yaml to use (default: $NEWSLETTER_CONFIG, else ./config.yaml, "
    "else the embedded defaults).",
)
@click.version_option(package_name="newsletter")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """The Astana Times' weekly foreign-media digest: validate, render and send it."""
    ctx.obj = AppContext(config_path)
