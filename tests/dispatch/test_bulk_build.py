"""A claimed batch's recipients and messages built at once (issue 16) are exactly those
built one reader at a time; anything unusable falls back to the reader-by-reader path."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from newsletter.api.sending import LinkedRecipients, linked_recipients, recipient_builder
from newsletter.dispatch.ports import BulkRecipientOf
from newsletter.errors import MessageError
from newsletter.message import IssueMessage, PersonalBatch, Recipient
from newsletter.message.links import PreferenceLinks, UnsubscribeLinks
from newsletter.secrets import NEWSLETTER_SECRET, Secret
from newsletter.store import Claimed
from newsletter.transports import Outcome, Result
from newsletter.transports.base import all_results
from tests.delivery_support import PUBLIC, delivery_config, sample_issue

SECRET = Secret(NEWSLETTER_SECRET, "bulk-build-secret-" * 3)
CLAIMED = [
    Claimed(100 + n, n, f"reader{n}@example.com", f"Reader {n}" if n % 3 else None)
    for n in (1, 2, 3, 999, 10**12, 2**63 - 1)
]


def recipients_of(recipient_of: LinkedRecipients) -> list[Recipient]:
    """CLAIMED's recipients, each built alone."""
    return [recipient_of(c) for c in CLAIMED]


def fresh_issue() -> IssueMessage:
    """The sample issue with Message-IDs counted from 1 again (m000001…)."""
    counter = itertools.count(1)
    return replace(sample_issue(), new_message_id=lambda: f"m{next(counter):06d}")


def test_a_batch_of_links_is_the_links_one_by_one() -> None:
    """UnsubscribeLinks.many and PreferenceLinks.many give each id's own URL, in order."""
    config = delivery_config()
    ids = [c.subscriber_id for c in CLAIMED]
    for links in (UnsubscribeLinks(config, SECRET), PreferenceLinks(config, SECRET)):
        assert links.many(ids) == [links(i) for i in ids]
        assert links.many([]) == []


IDS = [c.subscriber_id for c in CLAIMED]


def links_one_by_one(recipient_of: LinkedRecipients) -> tuple[list[str], list[str]]:
    """(unsubscribe URLs, preference URLs) of CLAIMED, each reader's built alone."""
    recipients = [recipient_of(c) for c in CLAIMED]
    return [r.unsubscribe_url for r in recipients], [r.preferences_url for r in recipients]


def test_a_batch_of_links_is_each_readers_links() -> None:
    """The product's recipient builder gives a whole batch's links as it gives each
    reader's: both signed links, in order."""
    recipient_of = recipient_builder(delivery_config(), SECRET)
    assert isinstance(recipient_of, BulkRecipientOf)
    assert recipient_of.urls(IDS) == links_one_by_one(recipient_of)


def test_links_without_a_batch_form_are_called_per_reader() -> None:
    """Any plain function of the id serves as links (a test's, a caller's own)."""
    recipient_of = linked_recipients(lambda i: f"{PUBLIC}/u/{i}", lambda i: f"{PUBLIC}/p/{i}")
    unsubscribe, pages = recipient_of.urls(IDS)
    assert (unsubscribe, pages) == links_one_by_one(recipient_of)
    assert pages[0] == f"{PUBLIC}/p/1"
    no_page = linked_recipients(lambda i: f"{PUBLIC}/u/{i}")
    assert no_page.urls(IDS)[1] == [""] * len(CLAIMED)


def test_a_batch_of_messages_is_the_messages_one_by_one() -> None:
    """personalise_many gives, in order, the messages personalise gives (the same
    issue, recipient and Message-ID sequence)."""
    recipients = recipients_of(linked_recipients(UnsubscribeLinks(delivery_config(), SECRET)))
    batch = fresh_issue().personalise_many(recipients)
    one_by_one_issue = fresh_issue()
    one_by_one = [one_by_one_issue.personalise(r) for r in recipients]
    assert [(m.recipient, m.message_id) for m in batch] == [
        (m.recipient, m.message_id) for m in one_by_one
    ]


@pytest.mark.parametrize(
    "url",
    [
        f"{PUBLIC}/unsubscribe/1.tok\r\nBcc: x@example.com",  # header injection
        f"{PUBLIC}/unsubscribe/1.tök",  # not ASCII
        "http://news.example.com/unsubscribe/1.tok",  # not https, not a local test server
        "ftp://news.example.com/unsubscribe/1.tok",
    ],
)
def test_one_unusable_url_refuses_the_batch_as_one_by_one_refuses_it(url: str) -> None:
    """If any reader's unsubscribe URL could not go into List-Unsubscribe, the batch is
    refused (the dispatcher then builds reader by reader to fail only that one), exactly
    where personalise would refuse that reader."""
    good = [
        Recipient(f"r{n}@example.com", f"{PUBLIC}/unsubscribe/{n}.tok", None, n) for n in (1, 2)
    ]
    bad = Recipient("bad@example.com", url, None, 3)
    issue = fresh_issue()
    with pytest.raises(MessageError):
        issue.personalise(bad)
    with pytest.raises(MessageError):
        issue.personalise_many([*good, bad])
    assert len(issue.personalise_many(good)) == 2


def test_a_batch_of_columns_is_a_sequence_of_the_messages_one_by_one() -> None:
    """A PersonalBatch reads like the list of messages personalise would give: by index
    (negative too), by slice, by iteration; out of range is an IndexError; columns of
    different lengths are refused."""
    recipients = recipients_of(linked_recipients(UnsubscribeLinks(delivery_config(), SECRET)))
    batch = fresh_issue().personalise_many(recipients)
    expected_issue = fresh_issue()
    expected = [expected_issue.personalise(r) for r in recipients]
    pairs = [(m.recipient, m.message_id) for m in expected]
    assert len(batch) == len(expected)
    assert [(m.recipient, m.message_id) for m in batch] == pairs
    assert (batch[-1].recipient, batch[-1].message_id) == pairs[-1]
    assert [(m.recipient, m.message_id) for m in batch[1:3]] == pairs[1:3]
    assert batch[0] is batch[0]  # made once, then kept
    with pytest.raises(IndexError):
        batch[len(expected)]
    with pytest.raises(ValueError, match="columns"):
        PersonalBatch(fresh_issue(), ["a@example.com"], [], [1], ["u"], [""], ["<m>"])


def test_one_answer_for_a_batch_reads_as_each_readers_result() -> None:
    """SameResults (one answer for a whole request) equals, both ways, the list of each
    reader's Result, and reads by index and slice like it."""
    recipients = recipients_of(linked_recipients(UnsubscribeLinks(delivery_config(), SECRET)))
    batch = fresh_issue().personalise_many(recipients)
    results = all_results(batch, Outcome.ACCEPTED, provider_id="sg-9")
    expected = [Result(r, Outcome.ACCEPTED, "sg-9", None) for r in recipients]
    assert results == expected
    assert expected == results
    assert results != expected[:-1]
    assert results[2:4] == expected[2:4]
    assert results[-1] == expected[-1]
    assert list(results) == expected
    assert results != "not a sequence of results"
