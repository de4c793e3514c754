"""The transport contract: every transport delivers the same messages the same way.

Run against the outbox (mbox files), SendGrid (the real client against the
SendGrid-compatible server) and SMTP (a real aiosmtpd server), all on loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.transports import Outcome, SendOptions
from tests.delivery_support import personal_messages, sample_issue
from tests.transports.harness import (
    Harness,
    OutboxHarness,
    SendGridHarness,
    SmtpHarness,
    sendgrid_server,
    smtp_server,
)


@pytest.fixture(params=["outbox", "sendgrid", "smtp"])
def harness(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    if request.param == "outbox":
        yield OutboxHarness(tmp_path)
    elif request.param == "sendgrid":
        with sendgrid_server(monkeypatch) as server:
            yield SendGridHarness(server)
    else:
        with smtp_server() as (port, collector, _):
            yield SmtpHarness(port, collector)


def test_each_recipient_gets_exactly_one_message(harness: Harness) -> None:
    """A batch of 7 yields 7 accepted results, in order, and 7 delivered messages."""
    messages = personal_messages(7)
    transport = harness.transport()
    results = transport.send(messages, SendOptions())
    transport.close()
    assert [r.recipient for r in results] == [m.recipient for m in messages]
    assert {r.outcome for r in results} == {Outcome.ACCEPTED}
    delivered = sorted(d.to for d in harness.delivered())
    assert delivered == sorted(m.recipient.email for m in messages)


def test_messages_are_personalised(harness: Harness) -> None:
    """Each message carries its own recipient's unsubscribe URL in text, HTML and header."""
    messages = personal_messages(3)
    transport = harness.transport()
    transport.send(messages, SendOptions())
    transport.close()
    urls = {m.recipient.email: m.recipient.unsubscribe_url for m in messages}
    for got in harness.delivered():
        url = urls[got.to]
        assert f"Unsubscribe: {url}" in got.text
        assert f'href="{url}"' in got.html
        assert got.headers["list-unsubscribe"] == f"<{url}>"
        assert got.headers["list-unsubscribe-post"] == "List-Unsubscribe=One-Click"
        assert got.headers["list-id"].endswith("<weekly.astanatimes.com>")
        assert ".invalid/" not in got.text + got.html


def test_subject_and_content_are_the_issue(harness: Harness) -> None:
    """Subject, the text part and the HTML part are those of the rendered issue."""
    issue = sample_issue()
    transport = harness.transport()
    transport.send([issue.personalise(r.recipient) for r in personal_messages(1)], SendOptions())
    transport.close()
    (got,) = harness.delivered()
    assert got.subject == issue.subject
    assert got.text.startswith("THE ASTANA TIMES · FOREIGN MEDIA DIGEST")
    assert "<blockquote" in got.html


def test_empty_batch_sends_nothing(harness: Harness) -> None:
    """Sending no messages is a no-op with no results."""
    assert harness.transport().send([], SendOptions()) == []
    assert harness.delivered() == []


def test_batches_reuse_the_transport(harness: Harness) -> None:
    """Several batches through one transport object all arrive once."""
    messages = personal_messages(6)
    transport = harness.transport()
    for start in range(0, 6, 2):
        transport.send(messages[start : start + 2], SendOptions())
    transport.close()
    assert len(harness.delivered()) == 6
