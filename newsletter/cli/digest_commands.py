"""Commands on digest files: validate, render, schema."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from newsletter.api import validate_digest
from newsletter.cli.app import AppContext, cli, pass_app, report_errors, warn
from newsletter.cli.present import print_import
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


@cli.command("import-text")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--date",
    "issue_date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The issue's date, YYYY-MM-DD, when the text has no date line.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Digest JSON to write (default: build/imported/<date>.json); the review notes go "
    "beside it as <name>.review.txt.",
)
@click.option("--force", is_flag=True, help="Replace --out and its review file if they exist.")
@pass_app
@report_errors
def import_text(
    app: AppContext, source: Path, issue_date: dt.datetime | None, out: Path | None, force: bool
) -> None:
    """Turn a published digest's text (plain or HTML) into digest JSON to review."""
    day = issue_date.date() if issue_date is not None else None
    print_import(app.api.import_text(source, out, issue_date=day, overwrite=force))


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the digest format."""
    click.echo(json.dumps(json_schema(), indent=2, ensure_ascii=False))
