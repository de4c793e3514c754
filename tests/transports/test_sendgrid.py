"""The SendGrid transport against the SendGrid-compatible server: payload, faults, secrets."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsletter.errors import (
    AuthenticationError,
    ConfigError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from newsletter.transports import Outcome, SendOptions, open_transport
from newsletter.transports.sendgrid import SendGridTransport, build_payload, serialise
from tests.delivery_support import (
    delivery_config,
    personal_messages,
    sample_issue,
    spaceless_digest,
)
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.transports.harness import API_KEY, from_sendgrid, sendgrid_server

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "sendgrid"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSendGrid]:
    with sendgrid_server(monkeypatch, asm_groups=[42]) as fake:
        yield fake
        assert fake.server_errors == []


def transport(**sendgrid: Any) -> SendGridTransport:
    settings = {"timeout_seconds": 2.0, "max_attempts": 3, **sendgrid}
    config = delivery_config(retry_base_seconds=0.01, sendgrid=settings)
    made = open_transport(config, "sendgrid")
    assert isinstance(made, SendGridTransport)
    return made


def outcomes(results: list[Any]) -> set[Outcome]:
    return {r.outcome for r in results}


@pytest.mark.golden  # so `make golden` rewrites it with the others
def test_payload_matches_golden() -> None:
    """The request body for a batch of 3 is exactly the committed golden JSON."""
    config = delivery_config()
    payload = build_payload(personal_messages(3), config.delivery.sendgrid, SendOptions())
    for part in payload["content"]:  # the rendered body has its own golden files
        part["value"] = f"<{len(part['value'])} characters>"
    actual = json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    path = GOLDEN / "payload.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8")


def test_one_recipient_per_personalization_with_substitutions(server: FakeSendGrid) -> None:
    """Each recipient is its own personalization; their URL travels as substitutions."""
    results = transport().send(personal_messages(5), SendOptions())
    assert outcomes(results) == {Outcome.ACCEPTED}
    (request,) = server.accepted
    assert request.body is not None
    assert [p["to"][0]["email"] for p in request.body["personalizations"]] == [
        f"reader{n}@example.com" for n in range(1, 6)
    ]
    assert results[0].provider_id == request.message_id
    assert request.body["custom_args"] == {"issue": "2025-09-12", "list": "weekly"}
    assert request.body["personalizations"][0]["custom_args"] == {"subscriber_id": "1"}
    assert request.body["categories"] == ["foreign-media-digest"]


def test_batches_of_at_most_1000(server: FakeSendGrid) -> None:
    """The transport advertises 1000 per request, and the server accepts a full batch."""
    sender = transport()
    assert sender.max_batch == 1000
    messages = personal_messages(1000)
    assert outcomes(sender.send(messages, SendOptions())) == {Outcome.ACCEPTED}
    assert len(server.accepted_recipients()) == 1000


def test_429_waits_and_retries(server: FakeSendGrid) -> None:
    """A 429 with Retry-After is waited out and retried; the batch is accepted once."""
    server.fail_next(2, 429, retry_after=0)
    results = transport().send(personal_messages(2), SendOptions())
    assert outcomes(results) == {Outcome.ACCEPTED}
    assert server.accepted_recipients() == ["reader1@example.com", "reader2@example.com"]
    assert server.requests_seen == 3


def test_5xx_is_retried_then_deferred(server: FakeSendGrid) -> None:
    """5xx answers are retried a bounded number of times, then reported deferred."""
    server.fail_next(3, 503)
    results = transport(max_attempts=3).send(personal_messages(2), SendOptions())
    assert outcomes(results) == {Outcome.DEFERRED}
    assert "SendGrid server error (503)" in str(results[0].error)
    assert server.accepted == []
    assert server.requests_seen == 3


def test_5xx_burst_then_success(server: FakeSendGrid) -> None:
    """A short burst of 500s is ridden out."""
    server.fail_next(2, 500)
    assert outcomes(transport().send(personal_messages(1), SendOptions())) == {Outcome.ACCEPTED}


def test_400_is_permanent_with_sendgrids_words(server: FakeSendGrid) -> None:
    """A 400 fails the batch at once, quoting SendGrid's field and message; no retry."""
    issue = sample_issue(delivery_config(categories=[f"c{n}" for n in range(10)]))
    messages = [issue.personalise(m.recipient) for m in personal_messages(1)]
    sender = transport(asm_group_id=999)  # not a group the account has
    results = sender.send(messages, SendOptions())
    assert outcomes(results) == {Outcome.FAILED}
    assert "SendGrid refused the request (400): asm.group_id" in str(results[0].error)
    assert server.requests_seen == 1


def test_a_400_naming_some_readers_fails_them_alone_and_sends_the_rest(
    server: FakeSendGrid,
) -> None:
    """SendGrid refuses a whole request for one reader's bad entry (a 400 whose errors
    name `personalizations.N…`): those readers fail alone with SendGrid's words, and the
    others, never accepted, go out in a request of their own, each exactly once."""
    messages = personal_messages(6)
    server.refuse_addresses(["reader2@example.com", "reader5@example.com"])
    results = transport().send(messages, SendOptions())
    outcome = {r.recipient.email: r.outcome for r in results}
    assert outcome == {
        f"reader{n}@example.com": Outcome.FAILED if n in (2, 5) else Outcome.ACCEPTED
        for n in range(1, 7)
    }
    assert "Does not contain a valid address" in str(results[1].error)
    assert sorted(server.accepted_recipients()) == sorted(
        f"reader{n}@example.com" for n in (1, 3, 4, 6)
    )
    assert server.requests_seen == 2  # the refused request, then the rest once


def test_a_400_about_the_request_itself_still_fails_everyone(server: FakeSendGrid) -> None:
    """An error SendGrid does not tie to one personalization (here the unsubscribe
    group) concerns every reader alike: the batch fails, nothing is resent."""
    sender = transport(asm_group_id=999)
    results = sender.send(personal_messages(3), SendOptions())
    assert outcomes(results) == {Outcome.FAILED}
    assert server.requests_seen == 1


def test_401_stops_everything(server: FakeSendGrid, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused key raises AuthenticationError: the send must stop, not go on failing."""
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.wrong")
    with pytest.raises(AuthenticationError, match="SendGrid refused the API key \\(401\\)"):
        transport().send(personal_messages(1), SendOptions())


def test_403_stops_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key without Mail Send permission (403) stops the send too."""
    with (
        sendgrid_server(monkeypatch, forbidden_keys=[API_KEY]),
        pytest.raises(AuthenticationError, match="403"),
    ):
        transport().send(personal_messages(1), SendOptions())


def test_413_splits_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Too large a request is split in halves until each part fits."""
    settings = delivery_config().delivery.sendgrid
    payload = build_payload(personal_messages(1), settings, SendOptions())
    single = len(serialise(payload).encode())
    with sendgrid_server(monkeypatch, max_body_bytes=single + 300) as server:
        results = transport().send(personal_messages(4), SendOptions())
        assert outcomes(results) == {Outcome.ACCEPTED}
        expected = [f"reader{n}@example.com" for n in range(1, 5)]
        assert server.accepted_recipients() == expected
        assert len(server.accepted) == 4  # 4 → 2+2 → 1+1+1+1


def test_cut_after_accept_is_ambiguous_not_retried(server: FakeSendGrid) -> None:
    """The server accepted but the answer was lost: ambiguous, and never sent twice."""
    server.cut_after_accept_next(1)
    results = transport().send(personal_messages(3), SendOptions())
    assert outcomes(results) == {Outcome.AMBIGUOUS}
    assert "may have been accepted" in str(results[0].error)
    assert len(server.accepted) == 1  # SendGrid has it; we must not send it again
    assert server.requests_seen == 1


def test_read_timeout_is_ambiguous(server: FakeSendGrid) -> None:
    """An answer slower than the timeout is ambiguous: the request did leave."""
    server.hang_next(1, seconds=3)
    results = transport(timeout_seconds=0.3).send(personal_messages(1), SendOptions())
    assert outcomes(results) == {Outcome.AMBIGUOUS}
    assert server.requests_seen == 1


def test_refused_connection_is_deferred(server: FakeSendGrid) -> None:
    """When the server is gone the request provably never left: deferred after retries."""
    server.stop()
    results = transport(max_attempts=2).send(personal_messages(1), SendOptions())
    assert outcomes(results) == {Outcome.DEFERRED}
    assert "SendGrid unreachable" in str(results[0].error)


def test_sandbox_mode(server: FakeSendGrid) -> None:
    """Sandbox mode sets mail_settings; SendGrid validates but delivers nothing."""
    results = transport(sandbox=True).send(personal_messages(1), SendOptions())
    assert outcomes(results) == {Outcome.ACCEPTED}
    assert server.accepted == []
    assert len(server.sandboxed) == 1


def test_asm_group_lets_sendgrid_manage_unsubscribes(server: FakeSendGrid) -> None:
    """With an ASM group the link is SendGrid's group link and no own List-Unsubscribe;
    only the preference page's link is substituted per reader."""
    messages = personal_messages(2)
    transport(asm_group_id=42).send(messages, SendOptions())
    body = server.accepted[0].body
    assert body is not None
    assert body["asm"] == {"group_id": 42}
    assert "<%asm_group_unsubscribe_raw_url%>" in body["content"][1]["value"]
    assert "List-Unsubscribe" not in body["personalizations"][0]["headers"]
    issue = messages[0].issue
    substitutions = body["personalizations"][0]["substitutions"]
    assert list(substitutions) == [issue.preferences_placeholder]
    assert issue.unsubscribe_placeholder not in body["content"][1]["value"]


def test_delivered_text_has_each_recipients_link(server: FakeSendGrid) -> None:
    """After SendGrid's substitution each recipient's text and HTML carry their own URL."""
    messages = personal_messages(3)
    transport().send(messages, SendOptions())
    assert server.accepted[0].body is not None
    for message, got in zip(messages, from_sendgrid(server.accepted[0].body), strict=True):
        assert message.recipient.unsubscribe_url in got.text
        assert f'href="{message.recipient.unsubscribe_url}"' in got.html


def test_api_key_never_logged(server: FakeSendGrid, caplog: pytest.LogCaptureFixture) -> None:
    """Even with DEBUG logging on, the API key never reaches a log record."""
    caplog.set_level(logging.DEBUG)
    server.fail_next(1, 500)
    results = transport().send(personal_messages(1), SendOptions())
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(results)


def test_request_body_is_never_formatted_into_the_clients_debug_log(
    server: FakeSendGrid,
) -> None:
    """python-http-client formats each request's whole body into a DEBUG message even
    with DEBUG off (a millisecond per thousand-reader body, and the readers' addresses
    and links in the log when it is on): the body goes to it as bytes that format as
    their length, and still arrives whole. The client's records are caught by a filter
    on its logger and never reach a handler (its HEADERS record holds the API key)."""
    payload_lines: list[str] = []

    def keep_payload_lines(record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("PAYLOAD"):
            payload_lines.append(record.getMessage())
        return False  # no handler sees any of the client's records

    client_log = logging.getLogger("python_http_client.client")
    level = client_log.level
    client_log.addFilter(keep_payload_lines)
    client_log.setLevel(logging.DEBUG)
    try:
        results = transport().send(personal_messages(5), SendOptions())
    finally:
        client_log.setLevel(level)
        client_log.removeFilter(keep_payload_lines)
    assert outcomes(results) == {Outcome.ACCEPTED}
    (request,) = server.accepted
    assert request.body is not None
    assert len(request.body["personalizations"]) == 5
    assert payload_lines, "python-http-client no longer logs the payload: drop _QuietBytes"
    assert all("example.com" not in line and "bytes>" in line for line in payload_lines)


def test_missing_api_key_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without SENDGRID_API_KEY the transport does not start, and says which variable."""
    monkeypatch.delenv("SENDGRID_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="SENDGRID_API_KEY is not set"):
        open_transport(delivery_config(), "sendgrid")


def test_api_key_not_in_repr_or_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """The transport object's repr and its errors never show the key."""
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)
    monkeypatch.setenv("SENDGRID_API_HOST", "http://127.0.0.1:9")  # discard port: refused
    sender = transport(max_attempts=1)
    results = sender.send(personal_messages(1), SendOptions())
    assert API_KEY not in repr(sender.__dict__)
    assert API_KEY not in str(results)


def test_url_needing_html_escaping_gets_its_own_key(server: FakeSendGrid) -> None:
    """When a URL changes under HTML escaping, HTML and text get separate substitutions."""
    from newsletter.message import Recipient

    issue = sample_issue()
    url = "https://news.example.com/unsubscribe/1.t?a=1&b=2"
    message = issue.personalise(Recipient("x@example.com", url, subscriber_id=1))
    transport().send([message], SendOptions())
    body = server.accepted[0].body
    assert body is not None
    (got,) = from_sendgrid(body)
    assert 'href="https://news.example.com/unsubscribe/1.t?a=1&amp;b=2"' in got.html
    assert f"Unsubscribe: {url}" in got.text


def test_spaceless_digest_is_accepted_with_short_lines(server: FakeSendGrid) -> None:
    """A digest of 4,500-character Chinese, Japanese and Thai paragraphs without spaces
    (and the longest URLs and alt text the format allows) goes through: the fake server
    refuses content lines over 998 octets, and before the fix the transport itself failed
    every reader with a line of 13,554 octets."""
    from newsletter.message import build_issue_message
    from newsletter.render import render_issue
    from newsletter.render.lines import MAX_CONTENT_LINE, longest_line
    from tests.delivery_support import recipients

    config = delivery_config()
    issue = build_issue_message(render_issue(spaceless_digest(), config), config, "weekly")
    messages = [issue.personalise(r) for r in recipients(3)]
    results = transport().send(messages, SendOptions())
    assert outcomes(results) == {Outcome.ACCEPTED}
    body = server.accepted[0].body
    assert body is not None
    for part in body["content"]:
        assert longest_line(part["value"]) <= MAX_CONTENT_LINE
    for message, got in zip(messages, from_sendgrid(body), strict=True):
        assert message.recipient.unsubscribe_url in got.text


def test_a_400_keeps_sendgrids_own_words_in_detail(server: FakeSendGrid) -> None:
    """The boundary keeps SendGrid's errors[].message text as the error's `detail`
    (apart from our sentence around it), with its status and the field it names."""
    server.refuse_addresses(["reader1@example.com"])
    sender = transport()
    payload = build_payload(personal_messages(1), sender.settings, SendOptions())
    with pytest.raises(PermanentDeliveryError) as refused:
        sender.request("post", "mail/send", request_body=payload)
    assert refused.value.status == 400
    assert refused.value.detail == "Does not contain a valid address."
    assert refused.value.fields == ("personalizations.0.to.0.email",)
    assert refused.value.message.startswith("SendGrid refused the request (400): ")


def test_a_5xx_keeps_sendgrids_own_words_in_detail(server: FakeSendGrid) -> None:
    """A 503 is transient, and its `detail` is SendGrid's own message."""
    server.fail_next(1, 503)
    sender = transport()
    payload = build_payload(personal_messages(1), sender.settings, SendOptions())
    with pytest.raises(TransientDeliveryError) as deferred:
        sender.request("post", "mail/send", request_body=payload)
    assert (deferred.value.status, deferred.value.detail) == (503, "service unavailable")
