"""Unsubscribe and resubscribe through a subscriber's signed link.

Synchronous and free of HTTP: the app runs these in its thread pool. A link
that is malformed, signed with another secret, or names a subscriber no longer
stored is the same `None` to the caller, so every such request gets the same
neutral page and nobody can learn from it who is subscribed.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from newsletter.errors import SubscriberNotFoundError, TokenError
from newsletter.secrets import Secret
from newsletter.store import Source, Status, Store, Subscriber, was_erased
from newsletter.tokens import read_token

WEB_REASON = "unsubscribe link"
RESUBSCRIBE_REASON = "resubscribed from the unsubscribe page"


@dataclass(frozen=True)
class LinkOutcome:
    """Who the link names, and whether the address is now as asked."""

    subscriber: Subscriber
    done: bool


class Links:
    """The unsubscribe and resubscribe actions behind the web pages."""

    def __init__(
        self,
        store: Store,
        secret: Secret,
        writes: AbstractContextManager[object] | None = None,
    ) -> None:
        self.store = store
        self.secret = secret
        self.writes = writes or nullcontext()

    def lookup(self, token: str) -> Subscriber | None:
        """The subscriber a genuine token names; None for anything else (an erased
        reader's link too: nothing is left to show or change)."""
        try:
            subscriber_id = read_token(token, self.secret)
        except TokenError:
            return None
        found = self.store.subscribers.get_by_id(subscriber_id)
        return None if found is None or was_erased(found) else found

    def unsubscribe(self, token: str) -> LinkOutcome | None:
        """Stop all mail to the subscriber at once (committed on return); idempotent."""
        subscriber = self.lookup(token)
        if subscriber is None:
            return None
        with self.writes:
            self.store.subscribers.unsubscribe(
                subscriber.email, reason=WEB_REASON, source=Source.WEB
            )
        return LinkOutcome(subscriber, done=True)

    def resubscribe(self, token: str) -> LinkOutcome | None:
        """Undo an unsubscribe. A bounce or a spam complaint is not lifted from the web:
        only an editor can (`newsletter subscribers resubscribe`)."""
        subscriber = self.lookup(token)
        if subscriber is None:
            return None
        if subscriber.status == Status.SUBSCRIBED:
            return LinkOutcome(subscriber, done=True)
        if subscriber.status != Status.UNSUBSCRIBED:
            return LinkOutcome(subscriber, done=False)
        try:
            with self.writes:
                self.store.subscribers.resubscribe(
                    subscriber.email, reason=RESUBSCRIBE_REASON, source=Source.WEB
                )
        except SubscriberNotFoundError:
            return None
        return LinkOutcome(subscriber, done=True)
