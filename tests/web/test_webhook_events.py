"""SendGrid's events through the real, signed webhook become the report's evidence:
counts that reconcile exactly with the events sent, machine opens and scanner clicks
apart, anomalies kept apart, ambiguous deliveries settled by processed/delivered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from newsletter.states import DeliveryState
from newsletter.store import COUNT_KEYS, EventTotals
from newsletter.store.schema import deliveries, reader_engagement
from tests.feedback.signing import Signer
from tests.web.support import ISSUE, NOW, Site, make_site, sendgrid_event

SENT = NOW - 3600  # the events' base time: an hour before the webhook's now
LINK = "https://www.reuters.com/world/asia/kazakhstan-story?utm_source=digest#top"
OTHER = "https://www.ft.com/content/abc?utm_campaign=digest-2025-09-12"


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.new()


@pytest.fixture
def site(tmp_path: Path, signer: Signer) -> Iterator[Site]:
    made = make_site(tmp_path, signer)
    made.subscribe(6)
    made.mark_sent(made.open_send())  # readers 1-6 of ISSUE, accepted by SendGrid
    yield made
    made.store.close()


def ours(n: int, event: str, event_id: str, at: int = SENT, **fields: Any) -> dict[str, Any]:
    """An event about reader n's message of ISSUE, with the custom_args our sender sets."""
    return sendgrid_event(
        f"reader{n:05d}@example.com",
        event,
        event_id,
        issue=ISSUE,
        list="weekly",
        subscriber_id=str(n),
        timestamp=at,
        **fields,
    )


def counts(totals: EventTotals) -> dict[str, int]:
    """The non-zero counts only, to compare with what was sent."""
    return {kind: n for kind, n in totals.counts.items() if n}


def test_every_kind_is_counted_exactly_once_per_event(site: Site) -> None:
    """A batch with each kind SendGrid reports is counted exactly as sent, bounces split
    hard/soft, drops by reason, first/last time kept; the counts have exactly the agreed keys."""
    events = [
        *(ours(n, "processed", f"p{n}", SENT) for n in range(1, 7)),
        *(ours(n, "delivered", f"d{n}", SENT + 5) for n in range(1, 5)),
        ours(5, "deferred", "df5", SENT + 6, response="421 try later"),
        ours(5, "bounce", "b5", SENT + 60, type="blocked", reason="421 blocked"),
        ours(6, "bounce", "b6", SENT + 61, type="bounce", reason="550 no such user"),
        ours(4, "dropped", "x4", SENT + 7, reason="Spam Content"),
        ours(1, "spamreport", "s1", SENT + 900),
        ours(2, "unsubscribe", "u2", SENT + 901),
        ours(3, "group_unsubscribe", "g3", SENT + 902, asm_group_id=7),
        ours(1, "open", "o1", SENT + 600, sg_machine_open=False),
        ours(2, "open", "o2", SENT + 10, sg_machine_open=True),
        ours(3, "click", "c3", SENT + 700, url=LINK),
        ours(3, "group_resubscribe", "r3", SENT + 903),  # not counted: no report line
    ]
    answer = site.post_events(events)
    assert answer.status_code == 200
    assert answer.json()["counted"] == len(events) - 1
    totals = site.store.events.totals(ISSUE)
    assert set(totals.counts) == set(COUNT_KEYS)
    assert counts(totals) == {
        "processed": 6,
        "delivered": 4,
        "deferred": 1,
        "bounce_soft": 1,
        "bounce_hard": 1,
        "dropped": 1,
        "spamreport": 1,
        "unsubscribe": 1,
        "group_unsubscribe": 1,
        "open_human": 1,
        "open_machine": 1,
        "click_human": 1,
    }
    assert totals.dropped_by_reason == {"Spam Content": 1}
    assert totals.first_event_at == datetime.fromtimestamp(SENT, UTC)
    assert totals.last_event_at == datetime.fromtimestamp(SENT + 902, UTC)
    assert totals.anomalies == ()
    assert site.store.events.totals(ISSUE, "weekly") == totals.__class__(
        **{**totals.__dict__, "list_name": "weekly"}
    )


def test_the_same_batch_posted_twice_counts_once(site: Site) -> None:
    """SendGrid's retry of a whole batch (same sg_event_ids) changes no count."""
    batch = [ours(n, "delivered", f"d{n}") for n in range(1, 7)] + [
        ours(1, "click", "c1", SENT + 600, url=LINK)
    ]
    site.post_events(batch)
    again = site.post_events(batch)
    assert again.json()["duplicates"] == len(batch) and again.json()["counted"] == 0
    totals = site.store.events.totals(ISSUE)
    assert counts(totals) == {"delivered": 6, "click_human": 1}
    assert totals.anomalies == ()


def test_machine_opens_never_count_as_readers_opens(site: Site) -> None:
    """Opens SendGrid marks sg_machine_open (Apple Mail Privacy Protection) count apart."""
    site.post_events(
        [ours(n, "open", f"m{n}", SENT + 3, sg_machine_open=True) for n in range(1, 6)]
        + [ours(6, "open", "h6", SENT + 3000, sg_machine_open=False), ours(5, "open", "h5")]
    )
    totals = site.store.events.totals(ISSUE)
    assert (totals.counts["open_machine"], totals.counts["open_human"]) == (5, 2)


def test_scanner_clicks_are_counted_apart(site: Site) -> None:
    """Clicks before delivery, within 2 s after it, or on several links of one message
    within 2 s of each other are a scanner's; a reader's later click is human."""
    site.post_events([ours(n, "delivered", f"d{n}", SENT) for n in range(1, 7)])
    site.post_events(
        [
            ours(1, "click", "before", SENT - 5, url=LINK),  # before delivery
            ours(2, "click", "at-once", SENT + 1, url=LINK),  # within 2 s of delivery
            ours(3, "click", "burst-a", SENT + 500, url=LINK),  # two links in one second
            ours(3, "click", "burst-b", SENT + 501, url=OTHER),
            ours(4, "click", "reader", SENT + 400, url=LINK),  # a person reading
            ours(4, "click", "reader-again", SENT + 460, url=OTHER),  # a minute later
            ours(5, "click", "same-link", SENT + 300, url=LINK),  # one link twice:
            ours(5, "click", "same-link-2", SENT + 301, url=LINK),  # a double click
        ]
    )
    totals = site.store.events.totals(ISSUE)
    assert (totals.counts["click_scanner"], totals.counts["click_human"]) == (4, 4)
    by_url = {link.url: link for link in totals.links}
    assert (by_url[LINK].human, by_url[LINK].scanner) == (3, 3)
    assert (by_url[OTHER].human, by_url[OTHER].scanner) == (1, 1)
    assert by_url[LINK].unique_clickers is None  # per-reader engagement is off


def test_links_keep_the_url_as_reported(site: Site) -> None:
    """Each clicked URL is kept exactly as SendGrid reported it (query and fragment), so
    the report can attribute it to a digest item; most clicked first."""
    site.post_events(
        [ours(n, "click", f"c{n}", SENT + 900, url=LINK) for n in (1, 2)]
        + [ours(3, "click", "o3", SENT + 900, url=OTHER)]
    )
    assert [(link.url, link.human) for link in site.store.events.totals(ISSUE).links] == [
        (LINK, 2),
        (OTHER, 1),
    ]


def test_unknown_messages_and_ledger_disagreements_are_anomalies(site: Site) -> None:
    """A send this store does not hold, a reader the send never sent to, and a second
    delivered for one message are stored as anomalies and never counted."""
    site.subscribe(1, start=99, list_name="other")
    answer = site.post_events(
        [
            ours(1, "delivered", "d1", SENT + 5),
            ours(1, "delivered", "d1-again", SENT + 9),  # a duplicate delivered
            ours(99, "delivered", "stranger", SENT + 5),  # never in this send's ledger
            sendgrid_event(
                "reader00001@example.com",
                "delivered",
                "foreign",
                issue="2020-01-01",
                list="weekly",
                subscriber_id="1",
            ),
            sendgrid_event("someone@example.org", "open", "not-ours"),  # no custom args
        ]
    )
    assert answer.json()["anomalies"] == 3
    totals = site.store.events.totals(ISSUE)
    assert counts(totals) == {"delivered": 1}
    assert sorted((a.kind, a.event_id) for a in totals.anomalies) == [
        ("duplicate-delivered", "d1-again"),
        ("not-in-ledger", "stranger"),
    ]
    assert all("@" not in a.detail for a in totals.anomalies)  # no address in the detail
    foreign = site.store.events.totals("2020-01-01")
    assert [(a.kind, a.event_id) for a in foreign.anomalies] == [("unknown-message", "foreign")]
    assert counts(foreign) == {}


def test_delivered_before_processed_counts_both_once(site: Site) -> None:
    """Out of order (delivered posted before processed) each is counted once, and the
    evidence recorded is the first event that came."""
    site.post_events([ours(1, "delivered", "d1", SENT + 5)])
    site.post_events([ours(1, "processed", "p1", SENT)])
    assert counts(site.store.events.totals(ISSUE)) == {"processed": 1, "delivered": 1}
    with site.store.database.read() as conn:
        evidence = conn.execute(
            select(deliveries.c.evidence_event_id).where(deliveries.c.subscriber_id == 1)
        ).scalar_one()
    assert evidence == "d1"


def test_preview_sends_are_not_counted(site: Site) -> None:
    """Events of a preview send (custom arg preview=true) never count for the issue."""
    answer = site.post_events([ours(1, "delivered", "pv", preview="true")])
    assert answer.json()["counted"] == 0
    assert counts(site.store.events.totals(ISSUE)) == {}


def test_per_reader_engagement_is_off_by_default(site: Site) -> None:
    """By default nothing per reader is kept: unique openers/clickers are unknown (None)."""
    site.post_events(
        [ours(1, "open", "o1", SENT + 900), ours(1, "click", "c1", SENT + 900, url=LINK)]
    )
    totals = site.store.events.totals(ISSUE)
    assert totals.unique_openers is None and totals.links[0].unique_clickers is None
    with site.store.database.read() as conn:
        assert conn.execute(select(func.count()).select_from(reader_engagement)).scalar_one() == 0


def test_per_reader_engagement_when_switched_on(tmp_path: Path, signer: Signer) -> None:
    """With tracking.per_reader on, unique openers and clickers per link are known; machine
    opens and scanner clicks make nobody an opener or clicker."""
    made = make_site(tmp_path, signer)
    tracking = made.config.tracking.model_copy(update={"per_reader": True})
    config = made.config.model_copy(update={"tracking": tracking})
    site = Site(config, made.store, signer)
    site.store.events.per_reader = True
    site.subscribe(3)
    site.mark_sent(site.open_send())
    site.post_events(
        [
            ours(1, "open", "o1", SENT + 900),
            ours(1, "open", "o1b", SENT + 990),
            ours(2, "open", "o2", SENT + 900, sg_machine_open=True),
            ours(1, "click", "c1", SENT + 900, url=LINK),
            ours(1, "click", "c1b", SENT + 990, url=LINK),
            ours(3, "click", "s3", SENT + 100, url=LINK),
            ours(3, "click", "s3b", SENT + 100, url=OTHER),  # a scanner's burst
        ]
    )
    totals = site.store.events.totals(ISSUE)
    assert totals.unique_openers == 1
    by_url = {link.url: link for link in totals.links}
    assert (by_url[LINK].human, by_url[LINK].unique_clickers) == (2, 1)
    assert by_url[OTHER].unique_clickers == 0
    site.store.close()


def test_ambiguous_deliveries_are_settled_by_evidence(tmp_path: Path, signer: Signer) -> None:
    """A batch whose answer was lost (ambiguous) becomes accepted, one by one, as SendGrid's
    processed/delivered events for it come in; the event id and that provider evidence
    settled it are recorded; the others stay in doubt."""
    site = make_site(tmp_path, signer)
    site.subscribe(3)
    send_id = site.open_send()
    site.mark_sent(send_id, DeliveryState.AMBIGUOUS)
    answer = site.post_events([ours(1, "processed", "p1"), ours(2, "delivered", "d2")])
    assert answer.json()["resolved_by_evidence"] == 2
    assert site.store.sends.send_counts(send_id) == {"accepted": 2, "ambiguous": 1}
    assert site.store.events.totals(ISSUE).resolved_by_evidence == 2
    with site.store.database.read() as conn:
        row = conn.execute(
            select(
                deliveries.c.state, deliveries.c.evidence_event_id, deliveries.c.last_error
            ).where(deliveries.c.subscriber_id == 2)
        ).one()
    assert row.evidence_event_id == "d2"
    assert row.last_error == "resolved by provider evidence: SendGrid event d2"
    # A later delivered for the one already settled changes nothing more.
    assert site.post_events([ours(1, "delivered", "d1")]).json()["resolved_by_evidence"] == 0
    site.store.close()


def test_evidence_before_the_lost_answer_settles_it_at_once(tmp_path: Path, signer: Signer) -> None:
    """processed arriving while the batch is still `sending` (the answer not back yet) is
    kept; when the batch is then recorded ambiguous, those proven sent are accepted."""
    site = make_site(tmp_path, signer)
    site.subscribe(2)
    send_id = site.open_send()
    batch = site.store.sends.claim_batch(send_id, 0, 10, 1)
    assert batch is not None
    site.post_events([ours(1, "processed", "p1")])
    ids = [claimed.delivery_id for claimed in batch.claimed]
    site.store.sends.record_outcomes(send_id, 1, {(DeliveryState.AMBIGUOUS, None, None): ids})
    assert site.store.sends.send_counts(send_id) == {"accepted": 1, "ambiguous": 1}
    site.store.close()


def test_unsubscribes_attributed_to_the_issue(site: Site) -> None:
    """Readers who unsubscribed within 7 days of the send, by any route, count once each;
    later ones do not."""
    site.client.post(f"/unsubscribe/{site.token('reader00001@example.com')}")
    site.post_events([ours(2, "unsubscribe", "u2"), ours(2, "group_unsubscribe", "g2")])
    assert site.store.events.unsubscribes_attributed(ISSUE) == 2
    assert site.store.events.unsubscribes_attributed(ISSUE, "weekly") == 2
    assert site.store.events.unsubscribes_attributed(ISSUE, within=timedelta(0)) == 0


def test_an_unsubscribe_after_a_later_issue_belongs_to_that_issue(site: Site) -> None:
    """A reader the next issue reached before they unsubscribed is counted for the next
    issue only; another reader of the first issue alone still counts for it."""
    later = site.open_send("2025-09-19")
    site.mark_sent(later)
    site.client.post(f"/unsubscribe/{site.token('reader00001@example.com')}")
    assert site.store.events.unsubscribes_attributed("2025-09-19") == 1
    assert site.store.events.unsubscribes_attributed(ISSUE) == 0
