"""How an issue did (docs/report.md): `Newsletter.report` and `Newsletter.report_page`."""

from __future__ import annotations

from pathlib import Path

from newsletter.api.results import ReportPage
from newsletter.api.sending import check_list, issue_named
from newsletter.clock import Clock
from newsletter.config import Config
from newsletter.errors import InternalError
from newsletter.files import write_atomic
from newsletter.report import Report, build_report, newest_issue, report_page
from newsletter.store import Store


def _list(config: Config, store: Store, list_name: str | None) -> str | None:
    """`list_name` if config.yaml declares it or a send went to it (a list since
    retired keeps its history); UnknownListError (3) otherwise."""
    if list_name is None or any(s.list_name == list_name for s in store.sends.sends()):
        return list_name
    return check_list(config, list_name)


def report(
    config: Config, clock: Clock, issue: str | None = None, list_name: str | None = None
) -> Report:
    """The report of `issue` (a digest path or YYYY-MM-DD; None: the history only) on
    `list_name` (None: every list). InputError (3) when the issue has no send,
    UnknownListError (3), StoreError (7)."""
    wanted = issue_named(issue) if issue else None
    with Store.from_config(config, clock=clock) as store:
        return build_report(store, wanted, _list(config, store, list_name))


def page(
    config: Config,
    clock: Clock,
    issue: str | None = None,
    list_name: str | None = None,
    out: Path | None = None,
) -> ReportPage:
    """The HTML report of `issue` (default: the newest issue sent), written atomically to
    `out` when given. The errors of `report`; InputError (3) when nothing was sent or
    `out` cannot be written; RenderError (6) when the template fails."""
    wanted = issue_named(issue) if issue else None
    with Store.from_config(config, clock=clock) as store:
        chosen = _list(config, store, list_name)
        found = build_report(store, wanted or newest_issue(store, chosen), chosen)
    if found.issue is None:  # build_report fills it whenever an issue is named
        raise InternalError(f"the report of {wanted} came back without the issue")
    html = report_page(config, found.issue, found.history)
    if out is not None:
        write_atomic(out, html)
    return ReportPage(issue_id=found.issue.issue_id, html=html, path=out)
