"""Approval commands: approve (bound to the content), approvals (who approved what).

Each command parses its arguments, calls newsletter.api.Newsletter and shows the
result (newsletter.cli.present); what an approval covers is decided there."""

from __future__ import annotations

from pathlib import Path

import click

from newsletter.cli.app import AppContext, cli, pass_app, report_errors
from newsletter.cli.present import print_approval, print_approvals


@cli.command()
@click.argument("digests", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--by", help="Who approves (default: $USER, else the OS login name).")
@pass_app
@report_errors
def approve(app: AppContext, digests: tuple[Path, ...], by: str | None) -> None:
    """Check each DIGEST and approve this exact version for the weekly `dispatch`.

    Stops at the first digest the pre-send check blocks (exit 11; it is not recorded).
    Any later change to a digest or its rendering needs a new approval."""
    for digest in digests:
        print_approval(app.api.approve(digest, by))


@cli.command()
@click.argument("digest", type=click.Path(path_type=Path), required=False)
@pass_app
@report_errors
def approvals(app: AppContext, digest: Path | None) -> None:
    """List approvals (of DIGEST's issue): who, when, hashes, current or stale now."""
    print_approvals(app.api.approvals(digest))
