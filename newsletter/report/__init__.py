"""How an issue did: the ledger and SendGrid's events, per issue (docs/report.md).

`build_report(store, issue_id, list_name)` reads the store (read only) into a
`Report`; `report_page(config, issue_report, history)` draws it as one self-contained
HTML page with inline SVG charts (matplotlib, in `charts`, loaded only then).
`Newsletter.report` and `Newsletter.report_page` call these; the web serves the page
behind a token.
"""

from newsletter.report.compose import (
    build_report,
    newest_issue,
)
from newsletter.report.links import normalise
from newsletter.report.model import (
    IssueReport,
    IssueSummary,
    ItemClicks,
    Ledger,
    Rates,
    Report,
    summary_dict,
)
from newsletter.report.page import REPORT_HEADERS, TREND_ISSUES, percent, report_page

__all__ = [
    "REPORT_HEADERS",
    "TREND_ISSUES",
    "IssueReport",
    "IssueSummary",
    "ItemClicks",
    "Ledger",
    "Rates",
    "Report",
    "build_report",
    "newest_issue",
    "normalise",
    "percent",
    "report_page",
    "summary_dict",
]
