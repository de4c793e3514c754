"""Commands on digest files: validate, render, check, schema."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from newsletter.api import validate_digest
from newsletter.cli.app import AppContext, cli, pass_app, report_errors, warn
from newsletter.cli.present import print_check
from newsletter.cli.terminal import inert, inert_lines
from newsletter.digest import Digest, json_schema
from newsletter.errors import InputError, NewsletterError
from newsletter.wording import plural

DIGEST_PATHS = click.argument("digests", nargs=-1, required=True, type=click.Path(path_type=Path))


def summary_line(path: Path, digest: Digest) -> str:
    count = len(digest.items)
    return f"{path}: ok — {digest.date.isoformat()}, {plural(count, 'item')}: {inert(digest.title)}"


@cli.command()
@DIGEST_PATHS
@report_errors
def validate(digests: tuple[Path, ...]) -> None:
    """Check digest files; report every problem with its JSON path."""
    failures: list[NewsletterError] = []
    for path in digests:
        try:
            click.echo(summary_line(path, validate_digest(path)))
        except InputError as err:
            failures.append(err)
            for line in err.lines():
                click.echo(inert_lines(line), err=True)
    if len(failures) == 1 == len(digests):
        sys.exit(failures[0].exit_code)  # its message is already out; a summary would repeat it
    if failures:
        verb = "is" if len(failures) == 1 else "are"
        raise InputError(
            f"{len(failures)} of {plural(len(digests), 'digest file')} {verb} not valid"
        )


@cli.command()
@DIGEST_PATHS
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for email.html, email.txt and email.mjml (default: build/<digest name>/; "
    "with several digests, one sub-folder each).",
)
@pass_app
@report_errors
def render(app: AppContext, digests: tuple[Path, ...], out: Path | None) -> None:
    """Validate, then render digests to HTML, plain text and MJML."""
    api = app.api
    for path in digests:  # all valid before any output
        api.validate(path)
    for path in digests:
        folder = out / path.stem if out is not None and len(digests) > 1 else out
        result = api.render(path, folder)
        click.echo(f"{path} → {result.folder}/")
        for written in result.files:
            click.echo(f"  {written.path}  {written.size / 1000:.1f} KB")
        for message in result.warnings:
            warn(message)


@cli.command()
@click.argument("digest", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (for tools).")
@click.option(
    "--no-tools", is_flag=True, help="Skip SpamAssassin and axe-core (fast; noted in the report)."
)
@pass_app
@report_errors
def check(app: AppContext, digest: Path, as_json: bool, no_tools: bool) -> None:
    """The pre-send gate: blocking findings and warnings, each with its JSON path and a fix.

    Exits 0 when clean, 10 with warnings only, 11 with blocking findings."""
    report = app.api.check(digest, tools=not no_tools)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        print_check(report)
    sys.exit(report.exit_code)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the digest format."""
    click.echo(json.dumps(json_schema(), indent=2, ensure_ascii=False))
