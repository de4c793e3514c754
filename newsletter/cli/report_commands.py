"""`newsletter report`: how an issue did, from the ledger and SendGrid's events.

Parses, calls Newsletter.report (or report_page for --html) and prints through
newsletter.cli.present."""

from __future__ import annotations

import json
from pathlib import Path

import click

from newsletter.cli.app import AppContext, cli, pass_app, report_errors
from newsletter.cli.present import print_history, print_issue_report


@cli.command()
@click.argument("issue", required=False)
@click.option("--list", "list_name", help="Only this list (default: every list summed).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (for tools).")
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the report as one self-contained HTML page with charts.",
)
@pass_app
@report_errors
def report(
    app: AppContext, issue: str | None, list_name: str | None, as_json: bool, html_file: Path | None
) -> None:
    """How ISSUE did: delivered, bounced, complaints, unsubscribes, opens, clicks per item.

    ISSUE is a digest file or an issue date, YYYY-MM-DD; without it, one line per sent
    issue, newest first (and --html draws the newest)."""
    found = app.api.report(issue, list_name)
    if as_json:
        # ASCII only: URLs and reasons SendGrid reported stay inert on a terminal.
        click.echo(json.dumps(found.as_dict(), indent=2, ensure_ascii=True))
    elif found.issue is not None:
        print_issue_report(found.issue)
    else:
        print_history(found.history)
    if html_file is not None:
        written = app.api.report_page(issue, list_name, out=html_file)
        click.echo(f"wrote the report of {written.issue_id} to {html_file}", err=as_json)
