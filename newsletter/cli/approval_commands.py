"""Approval commands: approve (bound to the content), approvals (who approved what).

Each command parses its arguments, calls newsletter.api.Newsletter and shows the
result (newsletter.cli.present); what an approval covers is decided there."""

from __future__ import annotations

from pathlib import Path

import click

from newsletter.cli.app import AppContext, cli, pass_app, report_errors
from newsletter.cli.present import print_approval, print_approvals


@cli.command()
@click.argument("digest", type=click.Path(path_type=Path))
@click.option("--by", help="Who approves (default: $USER, else the OS login name).")
@pass_app
@report_errors
def approve(app: AppContext, digest: Path, by: str | None) -> None:
    """Check DIGEST and approve this exact version for the weekly `dispatch`.

    Exits 11 (nothing recorded) when the pre-send check finds a blocking problem. Any
    later change to the digest or its rendering needs a new approval."""
    print_approval(app.api.approve(digest, by))


@cli.command()
@click.argument("digest", type=click.Path(path_type=Path), required=False)
@pass_app
@report_errors
def approvals(app: AppContext, digest: Path | None) -> None:
    """List approvals (of DIGEST's issue): who, when, hashes, current or stale now."""
    print_approvals(app.api.approvals(digest))
