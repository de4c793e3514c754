"""`Newsletter.report`: the ledger's numbers and SendGrid's events, one issue in full and
the history, reconciled exactly with what the store holds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from newsletter import Newsletter
from newsletter.errors import InputError, UnknownListError
from newsletter.store import ATTRIBUTION_WINDOW, LinkClicks
from tests.api.project import SECRET
from tests.report.support import (
    ANOMALY,
    ISSUE,
    ITEM_2,
    LINKS,
    SENT_AT,
    WITH_URLS,
    FakeEvents,
    sent_project,
    totals,
)


def test_an_issue_s_report_adds_up_with_the_ledger_and_the_events(
    nl: Newsletter, heard: FakeEvents
) -> None:
    """Ledger: 3 readers accepted on weekly, 1 editor in doubt. Events: every count as
    given, machine opens and scanner clicks apart from readers', unsubscribes within the
    7 days, anomalies shown; rates over delivered (delivery and bounces over accepted)."""
    report = nl.report(ISSUE).issue
    assert report is not None
    ledger = report.ledger
    assert (ledger.recipients, ledger.accepted, ledger.failed, ledger.in_doubt) == (4, 3, 0, 1)
    assert report.resolved_by_evidence == 2
    s = report.summary
    assert (s.delivered, s.complaints, s.unsubscribes, s.opens_human, s.clicks_human) == (
        3, 1, 1, 5, 9,
    )  # fmt: skip
    assert (report.opens_machine, report.clicks_scanner) == (7, 4)
    assert (report.bounced_hard, report.bounced_soft, report.dropped, report.deferred) == (
        1, 1, 2, 2,
    )  # fmt: skip
    assert dict(report.dropped_by_reason) == {"Bounced Address": 1, "Unsubscribed Address": 1}
    assert s.rates.delivered == 1.0  # 3 delivered of 3 accepted
    assert s.rates.bounced == pytest.approx(2 / 3)
    assert s.rates.complaints == pytest.approx(1 / 3)
    assert s.rates.clicks == 3.0  # 9 clicks over 3 delivered
    assert s.rates.unique_opens is None  # per-reader engagement is not kept
    assert report.anomalies == (ANOMALY,)
    assert heard.asked_within == [ATTRIBUTION_WINDOW] * 2  # the issue and its history line
    assert dt.timedelta(days=7) == ATTRIBUTION_WINDOW


def test_clicks_go_to_the_item_whose_link_it_is(nl: Newsletter, heard: FakeEvents) -> None:
    """UTM parameters and fragments are not part of a link: item 1 gets its two spellings'
    clicks, item 2 its tagged link's, item 6 its own query's but not id=43's; an item
    without a link has none; links no item has are listed apart, most clicked first."""
    report = nl.report(ISSUE).issue
    assert report is not None
    rows = {item.position: (item.human, item.scanner) for item in report.items}
    assert rows == {1: (4, 1), 2: (2, 2), 3: (0, 0), 4: (0, 0), 5: (0, 0), 6: (1, 1), 7: (0, 0)}
    assert report.items[2].url is None
    assert report.items[4].headline == "Pakistan, Kazakhstan target $1 billion trade expansion"
    assert [link.url for link in report.other_links] == [
        "http://news.example.net/story?id=43&lang=en",
        "https://astanatimes.com/",
    ]
    clicked = sum(i.human for i in report.items) + sum(o.human for o in report.other_links)
    assert clicked == sum(link.human for link in LINKS)  # nothing lost, nothing counted twice


def test_unique_readers_show_when_per_reader_engagement_is_kept(
    nl: Newsletter, events: FakeEvents
) -> None:
    """With unique openers and clickers known, the unique open rate and each item's
    unique clickers are given; an item nobody clicked has 0, not unknown."""
    events.by_issue[(ISSUE, None)] = totals(
        counts={"delivered": 4, "open_human": 9},
        unique_openers=2,
        links=(LinkClicks(ITEM_2, 3, 0, 2),),
    )
    report = nl.report(ISSUE).issue
    assert report is not None
    assert report.summary.rates.unique_opens == 0.5
    assert [item.unique_clickers for item in report.items[:3]] == [0, 2, 0]


def test_before_any_event_rates_are_unknown_not_zero(nl: Newsletter, events: FakeEvents) -> None:
    """No event has arrived (or the transport sends none): the delivery rate is unknown,
    never 0 %, and every rate over delivered is too."""
    report = nl.report(ISSUE).issue
    assert report is not None
    assert report.first_event_at is None
    assert set(vars(report.summary.rates).values()) == {None}


def test_a_list_narrows_the_report(nl: Newsletter, events: FakeEvents) -> None:
    """`list_name` reads that list's sends and asks the events for that list only."""
    events.by_issue[(ISSUE, "weekly")] = totals(list_name="weekly", counts={"delivered": 3})
    report = nl.report(ISSUE, "weekly")
    assert report.issue is not None
    assert (report.issue.ledger.recipients, report.issue.ledger.in_doubt) == (3, 0)
    assert report.issue.summary.delivered == 3
    assert [s.issue_id for s in report.history] == [ISSUE, "2025-09-05"]
    editors = nl.report(list_name="editors")
    assert [(s.issue_id, s.in_doubt) for s in editors.history] == [(ISSUE, 1)]


def test_the_history_has_every_sent_issue_newest_first(nl: Newsletter, heard: FakeEvents) -> None:
    """Without an issue: no full report, one line per sent issue, newest first, each
    with its lists and when its first send started."""
    report = nl.report()
    assert report.issue is None
    lines = [(s.issue_id, s.lists, s.recipients, s.delivered) for s in report.history]
    assert lines == [(ISSUE, ("editors", "weekly"), 4, 3), ("2025-09-05", ("weekly",), 3, 0)]
    assert report.history[0].sent_at == SENT_AT


def test_a_digest_file_names_its_issue(nl: Newsletter, heard: FakeEvents) -> None:
    """As with `status`, a digest file is read for its date."""
    assert nl.report(WITH_URLS).issue == nl.report(ISSUE).issue


@pytest.mark.parametrize(
    ("issue", "list_name", "error", "words"),
    [
        ("2024-01-01", None, InputError, "no sends recorded for issue 2024-01-01"),
        ("2025-09-05", "editors", InputError, "2025-09-05 to list editors"),
        ("next week", None, InputError, "neither a digest file nor an issue date"),
        (ISSUE, "nope", UnknownListError, "list 'nope' is not declared"),
    ],
)
def test_what_cannot_be_reported_is_a_clear_error(
    nl: Newsletter, events: FakeEvents, issue: str, list_name: str | None,
    error: type[Exception], words: str,
) -> None:  # fmt: skip
    """An issue never sent (to that list), an argument that is no issue, an undeclared
    list: each a typed error naming what is wrong."""
    with pytest.raises(error, match=words):
        nl.report(issue, list_name)


def test_postgresql_reports_what_sqlite_reports(
    nl: Newsletter,
    heard: FakeEvents,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    postgres_admin: Callable[[], URL],
) -> None:
    """The same sends on a PostgreSQL store (NEWSLETTER_DATABASE_URL) give the same
    report, to the last number and time, as on SQLite."""
    on_sqlite = nl.report(ISSUE).as_dict()
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    url = postgres_admin().render_as_string(hide_password=False)
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", url)
    (tmp_path / "pg").mkdir()
    on_postgresql = sent_project(tmp_path / "pg").report(ISSUE).as_dict()
    assert on_postgresql == on_sqlite


def test_only_the_most_clicked_other_links_are_listed(nl: Newsletter, events: FakeEvents) -> None:
    """Clicked URLs that are no item's come from outside in any number: the 50 most
    clicked are listed, the rest counted; the items still get every click of theirs."""
    others = tuple(LinkClicks(f"https://t.example/r/{n}", n, 0, None) for n in range(1, 121))
    mine = LinkClicks(ITEM_2 + "?utm_source=x", 7, 0, None)
    events.by_issue[(ISSUE, None)] = totals(counts={"delivered": 3}, links=(*others, mine))
    report = nl.report(ISSUE).issue
    assert report is not None
    assert [link.human for link in report.other_links] == list(range(120, 70, -1))
    assert report.other_links_left_out == 70
    assert report.items[1].human == 7
