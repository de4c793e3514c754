"""Commands on digest files: validate, render, schema."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from newsletter.cli.app import AppContext, cli, pass_app, report_errors, warn
from newsletter.cli.terminal import inert, inert_lines
from newsletter.digest import Digest, json_schema, load_digest
from newsletter.errors import InputError, NewsletterError
from newsletter.files import write_atomic
from newsletter.render import render_issue
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
            click.echo(summary_line(path, load_digest(path)))
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
    config = app.config
    loaded = [(path, load_digest(path)) for path in digests]  # all valid before any output
    for path, digest in loaded:
        folder = _output_folder(path, out, len(loaded), config.build_dir)
        issue = render_issue(digest, config)
        click.echo(f"{path} → {folder}/")
        for name, content in (
            ("email.html", issue.html),
            ("email.txt", issue.text),
            ("email.mjml", issue.mjml),
        ):
            target = folder / name
            write_atomic(target, content)
            click.echo(f"  {target}  {len(content.encode('utf-8')) / 1000:.1f} KB")
        for message in issue.warnings:
            warn(f"{path}: {message}")


def _output_folder(path: Path, out: Path | None, count: int, build: Path) -> Path:
    if out is None:
        return build / path.stem
    return out / path.stem if count > 1 else out


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the digest format."""
    click.echo(json.dumps(json_schema(), indent=2, ensure_ascii=False))
