"""Sending commands: preview, send, dispatch (the cron entry), status, retry, cancel.

Each command parses its arguments, calls newsletter.api.Newsletter and shows the
result (newsletter.cli.present); what is sent, to whom and when is decided there."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from newsletter.cli.app import AppContext, cli, pass_app, report_errors
from newsletter.cli.present import Presenter, announce, print_preview, print_send, print_status
from newsletter.errors import EXIT_NOT_APPROVED, EXIT_OK, EXIT_PARTIAL
from newsletter.transports import NAMES
from newsletter.wording import plural

TRANSPORT = click.option(
    "--transport",
    type=click.Choice(NAMES),
    help="Override delivery.transport from config.yaml.",
)
LIST = click.option("--list", "list_name", required=True, help="A list declared in config.yaml.")
AT = click.option("--at", help='Schedule: "YYYY-MM-DD HH:MM ZONE" (SendGrid, ≤ 72 h ahead).')


def _exit(needs_attention: bool) -> None:
    sys.exit(EXIT_PARTIAL if needs_attention else EXIT_OK)


@cli.command()
@click.argument("digest", type=click.Path(path_type=Path))
@LIST
@TRANSPORT
@click.option("--dry-run", is_flag=True, help="Validate, render and count; send nothing.")
@click.option(
    "--force",
    is_flag=True,
    help="Go on with a digest changed after a partial send; with --reason, also past "
    "the pre-send check's blocking findings.",
)
@click.option("--reason", help="With --force: why it must go out anyway (recorded, in status).")
@click.option("--by", help="Who forces it (default: $USER, else the login name).")
@AT
@pass_app
@report_errors
def send(
    app: AppContext,
    digest: Path,
    list_name: str,
    transport: str | None,
    dry_run: bool,
    force: bool,
    reason: str | None,
    by: str | None,
    at: str | None,
) -> None:
    """Send DIGEST to every active member of a list (resumes an interrupted send)."""
    with Presenter() as shown:  # the API's positional order: dry_run, force, progress, reason, by
        result = app.api.send(digest, list_name, transport, at, dry_run, force, shown, reason, by)
    print_send(result)
    _exit(result.needs_attention)


@cli.command()
@click.option("--list", "list_name", help="Only this list (default: every weekly list).")
@click.option(
    "--date",
    "on_date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Act as if today were this date.",
)
@TRANSPORT
@AT
@pass_app
@report_errors
def dispatch(
    app: AppContext,
    list_name: str | None,
    on_date: dt.datetime | None,
    transport: str | None,
    at: str | None,
) -> None:
    """The weekly cron entry: send the due digest, as approved, to each weekly list, once."""
    today = on_date.date() if on_date else None
    with Presenter() as presenter:  # prints each list's outcome as soon as it is done
        report = app.api.dispatch(today, list_name, transport, at, progress=presenter)
    if report.not_approved:  # nothing went out for that issue: cron mails the editors
        sys.exit(EXIT_NOT_APPROVED)
    _exit(report.needs_attention)


@cli.command()
@click.argument("digest", type=click.Path(path_type=Path))
@LIST
@TRANSPORT
@click.option("--ambiguous", is_flag=True, help="Also resend those still in doubt.")
@click.option("--now", is_flag=True, help="With --ambiguous: go ahead within the hour.")
@pass_app
@report_errors
def retry(
    app: AppContext,
    digest: Path,
    list_name: str,
    transport: str | None,
    ambiguous: bool,
    now: bool,
) -> None:
    """Resend to recipients whose delivery failed (with --ambiguous, also those in doubt)."""
    with Presenter() as presenter:
        result = app.api.retry(digest, list_name, ambiguous, transport, progress=presenter, now=now)
    print_send(result)
    _exit(result.needs_attention)


@cli.command()
@click.argument("digest", type=click.Path(path_type=Path))
@LIST
@pass_app
@report_errors
def cancel(app: AppContext, digest: Path, list_name: str) -> None:
    """Cancel a scheduled send (SendGrid, --at) that has not gone out yet."""
    done = app.api.cancel(digest, list_name)
    click.echo(
        f"{done.issue_id} → {done.list_name}: scheduled send cancelled "
        f"({plural(done.requeued, 'message')} will not go out); `newsletter send` sends it "
        "again later"
    )


@cli.command()
@click.argument("digest", required=False)
@pass_app
@report_errors
def status(app: AppContext, digest: str | None) -> None:
    """Per issue and list: recipients by state, times, and what needs attention.

    DIGEST is a digest file (read for its date, wherever it is and whatever its name)
    or an issue date, YYYY-MM-DD."""
    found = app.api.status(digest)
    if not found:
        click.echo("no sends recorded")
    for send_status in found:
        print_status(send_status)


@cli.command()
@click.argument("digest", type=click.Path(path_type=Path))
@click.option("--to", "to", multiple=True, help="Send to this address (repeatable).")
@click.option(
    "--eml",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write each message as an .eml file into this folder.",
)
@TRANSPORT
@click.option("--web", is_flag=True, help="Open the live workbench on 127.0.0.1 instead.")
@click.option("--port", type=click.IntRange(0, 65535), default=8030, show_default=True,
              help="The workbench's port with --web (0: any free port).")  # fmt: skip
@pass_app
@report_errors
def preview(
    app: AppContext, digest: Path, to: tuple[str, ...], eml: Path | None,
    transport: str | None, web: bool, port: int,
) -> None:  # fmt: skip
    """Send the exact production message, marked [PREVIEW], to editors; with --web, serve
    the live workbench (the email at 600 and 375 px, light and dark, the findings, and a
    button that sends this preview) until Ctrl-C."""
    if web:
        from newsletter.web.server import serve_workbench  # uvicorn, Starlette: only here

        serve_workbench(app.api.workbench(digest, to, eml, transport), port, announce)
        return
    report = app.api.preview(digest, to, eml, transport)
    print_preview(report)
    if (failed := report.error()) is not None:
        raise failed
