"""`newsletter suppressions pull` against the SendGrid-compatible server (paged, spec-checked)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.config import load_config
from newsletter.errors import ConfigError, DeliveryError
from newsletter.feedback import Pulled, PullFailed, PullSkipped, pull_before_dispatch
from newsletter.feedback.suppressions import Puller
from newsletter.store import Status, Store
from newsletter.transports.sendgrid import SendGridTransport
from tests.dispatch.clirun import Project
from tests.fakes.sendgrid_server import FakeSendGrid, Fault, response_validator
from tests.transports.harness import sendgrid_server

GROUP = 4242


@pytest.fixture
def sendgrid(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSendGrid]:
    """The fake SendGrid (skips with the reason when the official spec is absent)."""
    with sendgrid_server(monkeypatch, asm_groups=[GROUP]) as server:
        yield server
        assert server.server_errors == []


@pytest.fixture
def project(tmp_path: Path) -> Project:
    made = Project(tmp_path)
    made.write_config(transport="sendgrid", sendgrid={"asm_group_id": GROUP})
    made.store().close()  # only explicit commands create a store (issue 10, item 7)
    return made


def seed(server: FakeSendGrid) -> None:
    for n in range(1_200):
        server.add_bounce(f"bounced{n:04d}@example.com", reason="550 5.1.1 unknown user")
    server.add_spam_report("reader0000001@example.com")
    server.add_global_unsubscribe("READER0000002@example.com")
    server.add_invalid_email("reader0000003@example.com", reason="Mail domain mentioned is invalid")
    server.add_group_suppression(GROUP, "reader0000004@example.com")


def test_pull_pages_through_every_list(sendgrid: FakeSendGrid, project: Project) -> None:
    """1,200 bounces come in three pages of 500; every list and the group are recorded."""
    emails = project.subscribe(6)
    seed(sendgrid)
    result = project.run("suppressions", "pull")
    assert result.exit_code == 0, result.output
    bounce_calls = [r for r in sendgrid.log if r.path.startswith("/v3/suppression/bounces")]
    assert [r.status for r in bounce_calls] == [200, 200, 200]
    assert "bounces: 1,200 at SendGrid, 1,200 newly suppressed" in result.output
    with project.store() as store:
        assert [store.subscribers.get(e).status for e in emails] == [  # type: ignore[union-attr]
            Status.COMPLAINED,
            Status.UNSUBSCRIBED,
            Status.BOUNCED,
            Status.UNSUBSCRIBED,
            Status.SUBSCRIBED,
            Status.SUBSCRIBED,
        ]
        assert store.subscribers.status_counts()[Status.BOUNCED] == 1_201
        third = store.subscribers.get(emails[2])
        assert third is not None
        assert third.status_reason == "SendGrid invalid email: Mail domain mentioned is invalid"
        assert store.subscribers.details(emails[0]).history[-1].source == "api"


def test_pull_repeats_harmlessly_and_keeps_sendgrid_listed_addresses_suppressed(
    sendgrid: FakeSendGrid, project: Project
) -> None:
    """A second pull changes nothing. An address resubscribed only in the store is suppressed
    again while SendGrid still lists it (SendGrid would not deliver to it anyway)."""
    project.subscribe(2)
    sendgrid.add_global_unsubscribe("reader0000001@example.com")
    assert "1 address newly suppressed" in project.run("suppressions", "pull").output
    assert "0 addresses newly suppressed" in project.run("suppressions", "pull").output
    with project.store() as store:
        store.subscribers.resubscribe("reader0000001@example.com", reason="asked by phone")
    assert "1 address newly suppressed" in project.run("suppressions", "pull").output
    with project.store() as store:
        found = store.subscribers.get("reader0000001@example.com")
        assert found is not None and found.status == Status.UNSUBSCRIBED
        assert store.subscribers.get("reader0000002@example.com").status == Status.SUBSCRIBED  # type: ignore[union-attr]


def test_requests_match_the_official_spec(
    sendgrid: FakeSendGrid, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each call names documented parameters; limit never exceeds the documented 500."""
    seen: list[dict[str, object]] = []
    original = SendGridTransport.request

    def spy(self: SendGridTransport, method: str, path: str, **kwargs: object) -> object:
        seen.append({"path": path, **kwargs})
        status, headers, body = original(self, method, path, **kwargs)
        if path.startswith("suppression/"):
            import json

            response_validator("tsg_suppressions_v3.json", f"/v3/{path}").validate(json.loads(body))
        return status, headers, body

    monkeypatch.setattr(SendGridTransport, "request", spy)
    sendgrid.add_bounce("a@example.com")
    assert project.run("suppressions", "pull").exit_code == 0
    paged = [s for s in seen if str(s["path"]).startswith("suppression/")]
    assert {str(s["path"]) for s in paged} == {
        "suppression/bounces",
        "suppression/spam_reports",
        "suppression/unsubscribes",
        "suppression/invalid_emails",
    }
    for call in paged:
        query = call["query_params"]
        assert isinstance(query, dict)
        assert set(query) == {"limit", "offset", "end_time"} and query["limit"] <= 500
    assert {"path": f"asm/groups/{GROUP}/suppressions", "query_params": {}} in seen


def test_puller_pages_with_a_small_page_size(sendgrid: FakeSendGrid, tmp_path: Path) -> None:
    """The library call pages by offset until a short page, whatever the page size."""
    for n in range(25):
        sendgrid.add_spam_report(f"s{n}@example.com")
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite3'}", create=True)
    from newsletter.config import SendGridSettings

    transport = SendGridTransport(SendGridSettings(api_host=sendgrid.url))
    report = Puller(transport, store, page_size=10).pull(None)
    assert report.rows == 25 and report.suppressed == 25
    spam_calls = [r for r in sendgrid.log if r.path.startswith("/v3/suppression/spam_reports")]
    assert len(spam_calls) == 3
    store.close()


def test_dispatch_pulls_first_with_sendgrid(sendgrid: FakeSendGrid, project: Project) -> None:
    """`dispatch` with the SendGrid transport pulls suppressions before freezing its audience."""
    project.subscribe(3)
    sendgrid.add_global_unsubscribe("reader0000002@example.com")
    result = project.run("dispatch", "--date", "2025-09-12")
    assert "SendGrid suppressions pulled: 1 address newly suppressed" in result.output
    assert sorted(sendgrid.accepted_recipients()) == [
        "reader0000001@example.com",
        "reader0000003@example.com",
    ]


def test_dispatch_sends_anyway_when_the_key_cannot_read_suppressions(
    sendgrid: FakeSendGrid, project: Project
) -> None:
    """A key limited to Mail Send (403 on suppressions) only warns; the send goes ahead."""
    from tests.fakes.sendgrid_server import Fault

    project.subscribe(1)
    sendgrid.inject(Fault.http(403), times=1, path="/v3/suppression/")
    result = project.run("dispatch", "--date", "2025-09-12")
    assert "could not pull SendGrid's suppressions" in result.output
    assert sendgrid.accepted_recipients() == ["reader0000001@example.com"]


def test_no_pull_with_other_transports(project: Project, tmp_path: Path) -> None:
    """With the outbox transport, dispatch never talks to SendGrid."""
    project.write_config()
    project.subscribe(1)
    result = project.run("dispatch", "--date", "2025-09-12")
    assert result.exit_code == 0, result.output
    assert "SendGrid suppressions" not in result.output


def test_pulled_reasons_are_stored_inert(sendgrid: FakeSendGrid, tmp_path: Path) -> None:
    """A bounce reason holding terminal escapes, a NUL and line breaks is stored without
    them, and capped; the address is found although SendGrid's row carried a control."""
    sendgrid.add_bounce("evil@example.com", reason="550 \x1b[2J\x1b]0;owned\x07gone\r\n x" * 40)
    store = Store.open(f"sqlite:///{tmp_path / 's.sqlite3'}", create=True)
    from newsletter.config import SendGridSettings

    transport = SendGridTransport(SendGridSettings(api_host=sendgrid.url))
    Puller(transport, store).pull(None)
    found = store.subscribers.get("evil@example.com")
    assert found is not None and found.status_reason is not None
    assert found.status_reason.startswith("SendGrid bounce list: 550 [2J]0;ownedgone x550")
    assert len(found.status_reason) == 500
    assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in found.status_reason)
    store.close()


# ----------------------------------------------------------- the pull a dispatch makes first


def test_pull_before_dispatch_is_skipped_without_sendgrid(
    sendgrid: FakeSendGrid, project: Project
) -> None:
    """With the outbox transport (configured, or chosen over a SendGrid config) the outcome
    is PullSkipped naming that transport, and SendGrid is never asked anything."""
    project.subscribe(1)
    sendgrid.add_global_unsubscribe("reader0000001@example.com")
    assert pull_before_dispatch(load_config(project.config), "outbox") == PullSkipped("outbox")
    project.write_config()  # the outbox transport
    assert pull_before_dispatch(load_config(project.config), None) == PullSkipped("outbox")
    assert sendgrid.log == []
    with project.store() as store:
        assert store.subscribers.get("reader0000001@example.com").status == Status.SUBSCRIBED  # type: ignore[union-attr]


def test_pull_before_dispatch_pulls_with_sendgrid(sendgrid: FakeSendGrid, project: Project) -> None:
    """With SendGrid (configured, or chosen over an outbox config) the outcome is Pulled,
    carrying the report of what was recorded, and the store holds the suppression."""
    project.subscribe(2)
    sendgrid.add_global_unsubscribe("reader0000002@example.com")
    outcome = pull_before_dispatch(load_config(project.config), None)
    assert isinstance(outcome, Pulled)
    assert (outcome.report.rows, outcome.report.suppressed) == (1, 1)
    assert [pulled.name for pulled in outcome.report.lists] == [
        "bounces",
        "spam reports",
        "global unsubscribes",
        "invalid emails",
        f"unsubscribe group {GROUP}",
    ]
    project.write_config()  # the outbox transport, overridden by the caller's choice
    again = pull_before_dispatch(load_config(project.config), "sendgrid")
    assert isinstance(again, Pulled) and again.report.suppressed == 0
    with project.store() as store:
        assert store.subscribers.get("reader0000002@example.com").status == Status.UNSUBSCRIBED  # type: ignore[union-attr]


@pytest.mark.parametrize("status", [401, 403, 500])
def test_pull_before_dispatch_failure_is_an_outcome_not_an_error(
    sendgrid: FakeSendGrid, project: Project, status: int
) -> None:
    """SendGrid refusing the key (401/403) or failing on every attempt (500) makes the
    outcome PullFailed, carrying the DeliveryError; its warning is the line `dispatch`
    prints, naming the error's own words, and nothing is suppressed."""
    project.subscribe(1)
    sendgrid.add_global_unsubscribe("reader0000001@example.com")
    sendgrid.inject(Fault.http(status), times=100, path="/v3/suppression/")
    outcome = pull_before_dispatch(load_config(project.config), None)
    assert isinstance(outcome, PullFailed)
    assert isinstance(outcome.error, DeliveryError)
    assert outcome.warning == (
        f"could not pull SendGrid's suppressions ({outcome.error.message}); sending anyway"
    )
    assert outcome.hint == "give the API key read access to Suppressions to keep the store in step"
    with project.store() as store:
        assert store.subscribers.get("reader0000001@example.com").status == Status.SUBSCRIBED  # type: ignore[union-attr]


def test_pull_before_dispatch_without_an_api_key_is_a_config_error(
    sendgrid: FakeSendGrid, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No SENDGRID_API_KEY is not a failed pull to send past but a configuration error,
    raised as before the move (dispatch then stops with the configuration exit code)."""
    monkeypatch.delenv("SENDGRID_API_KEY")
    with pytest.raises(ConfigError, match="SENDGRID_API_KEY"):
        pull_before_dispatch(load_config(project.config), None)
    assert sendgrid.log == []
