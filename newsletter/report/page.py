"""The report as one self-contained HTML page: the delivery funnel, clicks per item and
the last issues' rates as inline SVG charts, and every number in tables.

The page loads nothing: no script, no stylesheet, no font, no image from anywhere
(the charts are inline SVG), so it can be mailed, archived or opened offline, and
served behind the strictest Content-Security-Policy (`REPORT_HEADERS`).
"""

from __future__ import annotations

from markupsafe import Markup

from newsletter.config import Config
from newsletter.pages import Pages
from newsletter.report.model import IssueReport, IssueSummary
from newsletter.wording import plural

TREND_ISSUES = 12  # the history chart shows this many issues, the newest last

# No script, nothing remote; inline styles only; never cached or framed: the figures
# are the publication's own business.
REPORT_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}


def percent(value: float | None) -> str:
    """A rate for people: "12.3 %", "0.05 %", or "—" when unknown."""
    if value is None:
        return "—"
    shown = value * 100
    return f"{shown:.2f} %" if shown < 1 else f"{shown:.1f} %"


def report_page(config: Config, report: IssueReport, history: tuple[IssueSummary, ...]) -> str:
    """The page of `report`, with the rates of the last TREND_ISSUES issues of
    `history` (newest first, as `Report.history`). RenderError if the template fails."""
    from newsletter.report import charts  # matplotlib loads only when a page is drawn

    trend = list(history[:TREND_ISSUES])[::-1]
    funnel = [
        charts.Bar("Recipients", report.ledger.recipients),
        charts.Bar("Accepted by SendGrid", report.ledger.accepted),
        charts.Bar("Delivered", report.summary.delivered),
    ]
    if report.unique_openers is not None:
        funnel.append(charts.Bar("Opened (unique readers)", report.unique_openers))
    clicks = [
        charts.Bar(f"{item.position}. {item.headline}", item.human, item.scanner)
        for item in report.items
    ]
    rendered = {
        "funnel": charts.bar_chart("Delivery funnel", funnel, value_label="messages"),
        "clicks": charts.bar_chart(
            "Clicks per item",
            clicks,
            value_label="human clicks",
            extra_label="scanner clicks",
        )
        if clicks
        else "",
        "trend": charts.rate_chart(
            f"Rates of the last {len(trend)} issues",
            [s.issue_id for s in trend],
            [
                ("delivered", charts.BLUE, [s.rates.delivered for s in trend]),
                ("complaints", charts.RED, [s.rates.complaints for s in trend]),
                ("unsubscribes", charts.ORANGE, [s.rates.unsubscribes for s in trend]),
            ],
        ),
    }
    return Pages(config).render(
        "report",
        robots="noindex, nofollow",
        report=report,
        summary=report.summary,
        trend=trend[::-1],
        charts={name: Markup(svg) for name, svg in rendered.items()},  # noqa: S704 - matplotlib's SVG, text escaped by it
        percent=percent,
        plural=plural,
    )
