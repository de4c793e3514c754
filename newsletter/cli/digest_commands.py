"""Commands on digest files: new, validate, render, check, screenshot, import-text, schema."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from newsletter.api import validate_digest
from newsletter.cli.app import AppContext, cli, pass_app, report_errors, warn
from newsletter.cli.present import print_check, print_import, print_screenshots
from newsletter.cli.terminal import inert, inert_lines
from newsletter.digest import SCHEMA_FILE, Digest, schema_text
from newsletter.errors import InputError, NewsletterError
from newsletter.wording import plural

DIGEST_PATHS = click.argument("digests", nargs=-1, required=True, type=click.Path(path_type=Path))


def digest_files(paths: tuple[Path, ...]) -> list[Path]:
    """The paths but the JSON Schema `new` writes beside the digests (so that
    `validate digests/*.json` goes on working), with a note for each one left out."""
    for path in paths:
        if path.name == SCHEMA_FILE:
            click.echo(f"{path}: skipped (the JSON Schema of the format, not a digest)", err=True)
    return [path for path in paths if path.name != SCHEMA_FILE]


def summary_line(path: Path, digest: Digest) -> str:
    count = len(digest.items)
    return f"{path}: ok — {digest.date.isoformat()}, {plural(count, 'item')}: {inert(digest.title)}"


@cli.command()
@DIGEST_PATHS
@report_errors
def validate(digests: tuple[Path, ...]) -> None:
    """Check digest files; report every problem with its JSON path."""
    failures: list[NewsletterError] = []
    digests = tuple(digest_files(digests))
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
    api, digests = app.api, tuple(digest_files(digests))
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
@click.argument("digest", type=click.Path(path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for email-375-light.png, email-375-dark.png, email-600-light.png, …",
)
@click.option("--offline", is_flag=True, help="Do not fetch remote images.")
@pass_app
@report_errors
def screenshot(app: AppContext, digest: Path, out: Path, offline: bool) -> None:
    """PNGs of the email at 375 and 600 px, light and dark, full height (headless Chromium)."""
    print_screenshots(app.api.screenshot(digest, out, offline=offline))


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
    click.echo(schema_text(), nl=False)


@cli.command()
@click.option(
    "--date",
    "date",
    metavar="YYYY-MM-DD",
    help="The issue date (default: a week after the newest digest).",
)
@pass_app
@report_errors
def new(app: AppContext, date: str | None) -> None:
    """Start the next issue: a digest skeleton to fill in, and schema.json beside it."""
    made = app.api.new_digest(date)
    number = f", issue {made.number}" if made.number is not None else ""
    click.echo(f"{made.path}: new issue of {made.date.isoformat()}{number}")
    click.echo(f"{made.schema}: the JSON Schema, for your editor")
    click.echo("Fill in every empty field (or delete the optional ones you do not need):")
    click.echo("the file does not validate, so it cannot be sent, until you do.")
