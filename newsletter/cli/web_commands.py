"""Web and provider-sync commands: serve, archive, suppressions pull."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from newsletter.cli.app import AppContext, cli, pass_app, report_errors
from newsletter.cli.present import print_backfill, print_pull
from newsletter.errors import EXIT_OK, EXIT_PARTIAL
from newsletter.wording import plural


@cli.command()
@click.option("--host", help="Address to listen on (default: web.host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: web.port, 8000).")
@pass_app
@report_errors
def serve(app: AppContext, host: str | None, port: int | None) -> None:
    """Serve unsubscribe pages, the SendGrid event webhook and the archive (see docs/web.md)."""
    from newsletter.web.server import serve as run  # uvicorn and Starlette only when serving

    print_backfill(app.api.backfill())  # issues sent before the store kept them
    config = app.config
    run(config, host or config.web.host, port or config.web.port)


@cli.command("signup-form")
@pass_app
@report_errors
def signup_form(app: AppContext) -> None:
    """Print the embeddable sign-up form (plain HTML, no script) for the publication's site."""
    click.echo(app.api.signup_form(), nl=False)


@cli.group(invoke_without_command=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write archive/, feed.xml and unsubscribe/ into.",
)
@click.option("--base-url", help="Public URL the copy will live at (default: public_base_url).")
@click.pass_context
@pass_app
@report_errors
def archive(app: AppContext, ctx: click.Context, out: Path | None, base_url: str | None) -> None:
    """Write the web archive of sent issues and its Atom feed as static files (--out);
    `archive backfill` recovers issues sent before the store kept them."""
    if ctx.invoked_subcommand is not None:
        return
    if out is None:
        raise click.UsageError("Missing option '--out'.", ctx)
    written = app.api.write_archive(out, base_url)
    print_backfill(written.backfill)
    click.echo(
        f"wrote {plural(len(written.files), 'file')} to {out} ({plural(written.issues, 'issue')})"
    )


@archive.command("backfill")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@pass_app
@report_errors
def archive_backfill(app: AppContext, paths: tuple[Path, ...]) -> None:
    """Recover issues sent before the store kept them, from digest files that still match
    what was sent: the digests folder, and any FILE or FOLDER given."""
    report = app.api.backfill(paths)
    print_backfill(report)
    if not report.recovered and not report.unrecovered:
        click.echo("archive: every sent issue is kept; nothing to recover")
    sys.exit(EXIT_PARTIAL if report.unrecovered else EXIT_OK)


@cli.group()
def suppressions() -> None:
    """SendGrid's suppression lists (bounces, spam reports, unsubscribes)."""


@suppressions.command("pull")
@pass_app
@report_errors
def pull(app: AppContext) -> None:
    """Record SendGrid's bounces, spam reports and unsubscribes (never resubscribes)."""
    report = app.api.pull_suppressions()
    click.echo(
        f"SendGrid suppressions: {plural(report.suppressed, 'address', 'addresses')} "
        "newly suppressed"
    )
    print_pull(report)
