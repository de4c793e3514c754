"""Web and provider-sync commands: serve, archive, suppressions pull."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from newsletter.archive_backfill import BackfillReport, backfill
from newsletter.cli.app import AppContext, cli, pass_app, report_errors, warn
from newsletter.config import Config
from newsletter.errors import EXIT_OK, EXIT_PARTIAL, ConfigError
from newsletter.feedback import PullReport, pull_suppressions
from newsletter.store import Store
from newsletter.wording import plural


@cli.command()
@click.option("--host", help="Address to listen on (default: web.host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: web.port, 8000).")
@pass_app
@report_errors
def serve(app: AppContext, host: str | None, port: int | None) -> None:
    """Serve unsubscribe pages, the SendGrid event webhook and the archive (see docs/web.md)."""
    from newsletter.web.server import serve as run  # uvicorn and Starlette only when serving

    config = app.config
    with Store.from_config(config) as store:
        recover_archive(config, store)  # issues sent before the store kept them
    run(config, host or config.web.host, port or config.web.port)


def print_backfill(report: BackfillReport) -> None:
    """Say which old issues were recovered for the archive and which could not be."""
    for kept in report.recovered:
        how = (
            "exactly as sent"
            if kept.exact
            else "re-rendered with today's templates: the words are as sent, the layout may differ"
        )
        click.echo(f"archive: recovered {kept.issue_id} from {kept.path} ({how})")
    if report.unrecovered:
        listed = "; ".join(f"{u.issue_id} ({u.reason})" for u in report.unrecovered)
        warn(
            f"archive: {len(report.unrecovered)} sent issue(s) could not be recovered and stay "
            f"out of the archive: {listed}"
        )
        warn(
            "give their digest files as they were sent: "
            "`newsletter archive backfill FILE_OR_FOLDER…` (on a host that has them)"
        )


def recover_archive(config: Config, store: Store, extra: tuple[Path, ...] = ()) -> BackfillReport:
    """Recover issues sent before the store kept them (see newsletter.archive_backfill)."""
    report = backfill(store, config, extra)
    print_backfill(report)
    return report


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
    from newsletter.web.archive import Archive

    config = app.config
    base = (base_url or config.publication.public_base_url or "").rstrip("/")
    if not base:
        raise ConfigError(
            "the archive's feed needs absolute links: no base URL",
            hint="give --base-url https://…, or set publication.public_base_url in config.yaml",
        )
    with Store.from_config(config) as store:
        recover_archive(config, store)
        written = Archive(config, store).write_static(out, base)
    issues = sum(1 for path in written if path.parent.parent == out / "archive")
    click.echo(f"wrote {plural(len(written), 'file')} to {out} ({plural(issues, 'issue')})")


@archive.command("backfill")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@pass_app
@report_errors
def archive_backfill(app: AppContext, paths: tuple[Path, ...]) -> None:
    """Recover issues sent before the store kept them, from digest files that still match
    what was sent: the digests folder, and any FILE or FOLDER given."""
    config = app.config
    with Store.from_config(config) as store:
        report = recover_archive(config, store, paths)
    if not report.recovered and not report.unrecovered:
        click.echo("archive: every sent issue is kept; nothing to recover")
    sys.exit(EXIT_PARTIAL if report.unrecovered else EXIT_OK)


@cli.group()
def suppressions() -> None:
    """SendGrid's suppression lists (bounces, spam reports, unsubscribes)."""


def _print_pull(report: PullReport) -> None:
    for pulled in report.lists:
        click.echo(
            f"  {pulled.name}: {pulled.rows:,} at SendGrid, {pulled.report.suppressed:,} newly "
            f"suppressed, {pulled.report.already:,} already"
            + (
                f", {plural(pulled.report.invalid, 'not an address', 'not addresses')}"
                if pulled.report.invalid
                else ""
            )
        )


@suppressions.command("pull")
@pass_app
@report_errors
def pull(app: AppContext) -> None:
    """Record SendGrid's bounces, spam reports and unsubscribes (never resubscribes)."""
    report = pull_suppressions(app.config)
    click.echo(
        f"SendGrid suppressions: {plural(report.suppressed, 'address', 'addresses')} "
        "newly suppressed"
    )
    _print_pull(report)
