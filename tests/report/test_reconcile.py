"""The report from end to end, no fake: SendGrid's events posted as signed batches to the
real webhook (a key pair made here) for an issue the project really sent, then
`Newsletter.report` and `newsletter report --json` give back exactly what was posted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from newsletter import Newsletter
from newsletter.cli import cli
from newsletter.clock import FixedClock
from newsletter.config import Webhook
from newsletter.secrets import Secret
from newsletter.store import Store
from newsletter.web.app import create_app
from tests.api.project import READERS, SECRET
from tests.feedback.signing import Signer
from tests.report.support import ISSUE, ITEM_1, ITEM_2, SENT_AT, sent_project

T = int(SENT_AT.timestamp()) + 60  # the events' base time: a minute after the send started
NOW = T + 8 * 3600  # the webhook's now: every batch is signed at it
ANN, BOB, CY = READERS
EDITOR = "ed@example.com"


@dataclass
class Sent:
    """The project that sent 2025-09-12 (tests/report/support.py: ann, bob and cy on
    weekly accepted; the editor's one delivery ambiguous), its store and the real app."""

    nl: Newsletter
    config_file: Path
    store: Store
    client: TestClient
    signer: Signer
    ids: dict[str, int]

    def event(self, who: str, kind: str, event_id: str, at: int, **fields: Any) -> dict[str, Any]:
        """One event as SendGrid posts it, with the custom args our sender sets."""
        list_name = "editors" if who == EDITOR else "weekly"
        return {
            "email": who,
            "event": kind,
            "sg_event_id": event_id,
            "sg_message_id": f"msg-{self.ids[who]}.filter",
            "timestamp": at,
            "issue": ISSUE,
            "list": list_name,
            "subscriber_id": str(self.ids[who]),
            **fields,
        }

    def post(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        """The batch, signed, through POST /webhooks/sendgrid; its 200 answer."""
        body = json.dumps(events).encode()
        answer = self.client.post(
            "/webhooks/sendgrid", content=body, headers=self.signer.sign(body, NOW)
        )
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found


@pytest.fixture
def sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sent]:
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    nl = sent_project(tmp_path)
    signer = Signer.new()
    key = Webhook.model_validate({"sendgrid_public_key": signer.public_key_b64})
    config = nl.config.model_copy(update={"webhook": key})
    # The store's clock (when an unsubscribe is recorded): two hours after the send,
    # well inside the 7 days in which an unsubscribe is attributed to the issue.
    store = Store.from_config(config, clock=FixedClock(SENT_AT.replace(hour=8)))
    ids = {}
    for email in (*READERS, EDITOR):
        found = store.subscribers.get(email)
        assert found is not None
        ids[email] = found.id
    app = create_app(config, store, secret=Secret("NEWSLETTER_SECRET", SECRET), clock=lambda: NOW)
    with TestClient(app, base_url="https://news.example.com") as client:
        yield Sent(nl, tmp_path / "config.yaml", store, client, signer, ids)
    store.close()


def test_the_report_reconciles_exactly_with_the_events_posted(sent: Sent) -> None:
    """Two signed batches, the second posted twice (SendGrid's retry): delivered before
    processed, machine opens apart from readers', clicks before delivery and a burst of
    two links in one second as a scanner's, links with UTM parameters and fragments
    attributed to their items, an event for an issue never sent, a second delivered
    and a delivered for someone the send never reached shown as anomalies, not counted;
    the editor's ambiguous delivery settled by its delivered event. The report (library
    and `report --json`) gives back each number exactly, with nobody left in doubt."""
    e = sent.event
    first = [
        *(e(who, "delivered", f"d-{who}", T + 10) for who in READERS),
        *(e(who, "processed", f"p-{who}", T) for who in READERS),  # arrive after delivered
        e(EDITOR, "delivered", "d-ed", T + 12),  # the ambiguous batch did go out
        e(ANN, "deferred", "df-ann", T + 5, response="421 try later"),
        e(ANN, "open", "om-ann", T + 20, sg_machine_open=True),
        e(BOB, "open", "om-bob", T + 21, sg_machine_open=True),
        e(ANN, "open", "oh-ann", T + 3600, sg_machine_open=False),
        e(CY, "open", "oh-cy", T + 4000, sg_machine_open=False),
        {**e(ANN, "delivered", "d-never", T), "issue": "2024-01-01"},  # an issue never sent
    ]
    answer = sent.post(first)
    assert (answer["counted"], answer["anomalies"]) == (len(first) - 1, 1)
    assert answer["resolved_by_evidence"] == 1

    second = [
        e(ANN, "click", "c-ann", T + 3700, url=ITEM_1 + "?utm_source=newsletter&utm_medium=email"),
        e(BOB, "click", "c-bob", T + 5000, url=ITEM_1 + "#comments"),
        e(BOB, "click", "c-bob-other", T + 7000, url="https://astanatimes.com/"),
        e(ANN, "click", "c-ann-early", T + 8, url=ITEM_2),  # before its delivery
        e(CY, "click", "c-cy-a", T + 6000, url=ITEM_2 + "?utm_content=x#top"),  # a burst:
        e(CY, "click", "c-cy-b", T + 6001, url="http://NEWS.example.net:80/story?id=42&lang=en"),
        e(CY, "unsubscribe", "u-cy", T + 7200),
        e(BOB, "spamreport", "s-bob", T + 7300),
        e(ANN, "delivered", "d-ann-again", T + 7400),  # a second delivered: an anomaly
        {**e(EDITOR, "delivered", "d-ed-weekly", T + 50), "list": "weekly"},  # never sent
    ]
    answer = sent.post(second)
    assert (answer["counted"], answer["anomalies"]) == (len(second) - 2, 2)
    again = sent.post(second)
    assert (again["counted"], again["duplicates"]) == (0, len(second))

    report = sent.nl.report(ISSUE)
    issue = report.issue
    assert issue is not None
    ledger = issue.ledger
    assert (ledger.recipients, ledger.accepted, ledger.in_doubt) == (4, 4, 0)
    assert issue.resolved_by_evidence == 1
    s = issue.summary
    assert (issue.processed, s.delivered, issue.deferred) == (3, 4, 1)
    assert (s.complaints, s.unsubscribes) == (1, 1)
    assert (s.opens_human, issue.opens_machine) == (2, 2)
    assert (s.clicks_human, issue.clicks_scanner) == (3, 3)
    clicks = {item.position: (item.human, item.scanner) for item in issue.items}
    assert clicks == {1: (2, 0), 2: (0, 2), 3: (0, 0), 4: (0, 0), 5: (0, 0), 6: (0, 1), 7: (0, 0)}
    assert [(link.url, link.human) for link in issue.other_links] == [
        ("https://astanatimes.com/", 1)
    ]
    assert sorted(anomaly.kind for anomaly in issue.anomalies) == [
        "duplicate-delivered",
        "not-in-ledger",
    ]
    assert (s.rates.delivered, s.rates.complaints, s.rates.clicks) == (1.0, 0.25, 0.75)
    assert [(line.issue_id, line.delivered) for line in report.history] == [
        (ISSUE, 4),
        ("2025-09-05", 0),
    ]

    result = CliRunner().invoke(cli, ["--config", str(sent.config_file), "report", ISSUE, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == report.as_dict()
    printed = json.loads(result.stdout)["issue"]
    assert printed["ledger"]["in_doubt"] == 0
    assert printed["events"]["clicks"] == {"human": 3, "scanner": 3}
    assert printed["events"]["opens"]["machine"] == 2
