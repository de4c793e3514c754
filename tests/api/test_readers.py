"""Readers' rights and choices through the API: the footer's preference link, paused
readers left out of a send, export-person and forget (and what forget leaves behind)."""

from __future__ import annotations

import datetime as dt
import email
import json
import re
from email.policy import default as default_policy
from pathlib import Path

import pytest

from newsletter import Newsletter
from newsletter.clock import FixedClock
from newsletter.errors import ConfigError, SubscriberNotFoundError, SuppressedError
from newsletter.secrets import Secret
from newsletter.store import Source, Status, Store
from newsletter.tokens import PREFERENCES, read_token
from newsletter.transports.outbox import maildir_path, read_outbox
from tests.api.project import DIGEST, READERS, SECRET, write_project
from tests.conftest import REPO

ISSUE = "2025-09-12"
LATER_DIGEST = REPO / "digests" / "2026-02-06.json"
PREFERENCE_LINK = re.compile(r"https://news\.example\.com/preferences/([0-9]+\.[\w-]{43})")
NOW = dt.datetime(2025, 9, 12, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def nl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FixedClock) -> Newsletter:
    """The API on a fresh project (weekly synced: ann, bob, cy), at a fixed time."""
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    api = Newsletter.from_config(write_project(tmp_path), clock=clock)
    api.sync("weekly")
    return api


def _to(message: email.message.EmailMessage) -> str:
    return str(message["To"].addresses[0].addr_spec)


def _sent(nl: Newsletter, issue: str = ISSUE) -> list[email.message.EmailMessage]:
    folder = maildir_path(nl.config.outbox_dir, issue, "weekly")
    return [
        email.message_from_bytes(raw, policy=default_policy)  # type: ignore[misc]
        for raw in read_outbox(folder)
    ]


def test_every_issue_links_each_readers_own_preference_page(nl: Newsletter) -> None:
    """The footer of both parts carries a preferences URL whose token (purpose
    preferences) names that reader; an unsubscribe token is not one."""
    nl.send(DIGEST, "weekly")
    secret = Secret("NEWSLETTER_SECRET", SECRET)
    with Store.from_config(nl.config) as store:
        for message in _sent(nl):
            reader = store.subscribers.get(_to(message))
            assert reader is not None
            for part in ("plain", "html"):
                body = message.get_body((part,))
                assert body is not None
                found = PREFERENCE_LINK.search(body.get_content())
                assert found, part
                assert read_token(found.group(1), secret, purpose=PREFERENCES) == reader.id
            assert ".invalid/" not in message.as_string()


def test_a_paused_reader_is_left_out_and_counted_then_gets_later_issues(
    nl: Newsletter, clock: FixedClock
) -> None:
    """ann paused for 2 weeks: a dry run counts 2, the send goes to bob and cy, and its
    status says 1 on a pause;
    an issue sent after the pause ends reaches ann again."""
    with Store.from_config(nl.config, clock=clock) as store:
        ann = store.subscribers.get(READERS[0])
        assert ann is not None
        store.subscribers.pause(ann.id, NOW + dt.timedelta(weeks=2), source=Source.WEB)
    dry = nl.send(DIGEST, "weekly", dry_run=True).dry_run
    assert dry is not None and dry.audience == 2
    result = nl.send(DIGEST, "weekly")
    assert result.report is not None and result.report.counts == {"accepted": 2}
    [status] = nl.status(ISSUE)
    assert status.send.paused_readers == 1
    assert READERS[0] not in {_to(m) for m in _sent(nl)}
    clock.set(NOW + dt.timedelta(weeks=2, seconds=1))
    later = nl.send(LATER_DIGEST, "weekly")
    assert later.report is not None and later.report.counts == {"accepted": 3}
    [status] = nl.status("2026-02-06")
    assert status.send.paused_readers == 0


def test_export_person_holds_everything_stored(nl: Newsletter) -> None:
    """The export names the address, name, lists, history and deliveries, as JSON."""
    nl.send(DIGEST, "weekly")
    found = nl.export_person(READERS[1].upper())
    data = json.loads(found.to_json())
    assert data["subscriber"]["email"] == READERS[1]
    assert data["subscriber"]["name"] == "Reader 1"
    assert [m["list"] for m in data["lists"]] == ["weekly"]
    assert data["history"][0]["to"] == "subscribed"
    assert [(d["issue"], d["state"]) for d in data["deliveries"]] == [(ISSUE, "accepted")]
    with pytest.raises(SubscriberNotFoundError):
        nl.export_person("nobody@example.com")


def test_forget_leaves_a_keyed_hash_that_import_and_add_meet(
    nl: Newsletter, tmp_path: Path
) -> None:
    """After forget: export finds nothing, the address is counted suppressed by a re-import
    (never stored again), `add` refuses it, a second forget says it was erased before."""
    nl.send(DIGEST, "weekly")
    done = nl.forget(READERS[0])
    assert done.subscriber_id is not None and not done.already_erased
    with pytest.raises(SubscriberNotFoundError):
        nl.export_person(READERS[0])
    again = tmp_path / "again.csv"
    again.write_text(f"email,name\n{READERS[0].upper()},Reader 0\nnew@example.com,\n")
    report = nl.import_csv(again, "weekly").report
    assert (report.suppressed, report.added) == (1, 1)
    with pytest.raises(SubscriberNotFoundError):
        nl.export_person(READERS[0])
    with pytest.raises(SuppressedError):
        nl.add(READERS[0], "editors")
    assert nl.forget(READERS[0]).already_erased
    result = nl.send(LATER_DIGEST, "weekly")
    assert result.report is not None
    assert READERS[0] not in {_to(m) for m in _sent(nl, "2026-02-06")}


def test_forget_needs_the_secret(nl: Newsletter, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without NEWSLETTER_SECRET nothing is erased (ConfigError), and the reader stays."""
    monkeypatch.delenv("NEWSLETTER_SECRET")
    with pytest.raises(ConfigError):
        nl.forget(READERS[0])
    assert nl.export_person(READERS[0]).email == READERS[0]


def test_an_erased_address_is_not_stored_again_by_provider_feedback(nl: Newsletter) -> None:
    """A bounce or unsubscribe reported later for an erased address stores nothing."""
    nl.forget(READERS[2])
    with Store.from_config(nl.config) as store:
        change = store.subscribers.set_status(
            READERS[2], status=Status.BOUNCED, reason="550 no such user", source=Source.WEBHOOK
        )
        assert not change.changed
        assert store.subscribers.get(READERS[2]) is None


def test_the_erasure_is_logged_without_personal_data(
    nl: Newsletter, caplog: pytest.LogCaptureFixture
) -> None:
    """The log says which subscriber id was erased; no line holds the address or name."""
    caplog.set_level("DEBUG")
    done = nl.forget(READERS[1])
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert f"erased subscriber {done.subscriber_id}" in text
    assert READERS[1] not in text and "bob" not in text and "Reader 1" not in text
