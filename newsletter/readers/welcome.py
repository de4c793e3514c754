"""The welcome issue: a newly confirmed reader gets the latest sent issue at once.

Only with signup.welcome on. The issue is the newest one of the archive, exactly as it
was sent (`store.issues`), personalised with the reader's own unsubscribe link, and
it goes through the ledger: `store.readers.claim_welcome` records the delivery
(under the issue's `welcome` send) before anything is sent, so a reader gets each
issue once whatever happens (a second confirmation, a crash, a later send of the same
issue). It is marked as a welcome in the ledger (list `welcome`) and by the SendGrid
category `welcome`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from newsletter.config import Config
from newsletter.errors import NewsletterError
from newsletter.message import IssueMessage, Recipient
from newsletter.message.build import sender_domain
from newsletter.message.links import PreferenceLinks, UnsubscribeLinks
from newsletter.readers.mailer import Mailer
from newsletter.redaction import redacting_logger
from newsletter.render.issue import placeholder_for
from newsletter.secrets import Secret
from newsletter.states import DeliveryState
from newsletter.store import Store, Subscriber
from newsletter.transports import Outcome

WELCOME = "welcome"
log = redacting_logger("newsletter.readers")

_STATES = {
    Outcome.ACCEPTED: DeliveryState.ACCEPTED,
    Outcome.FAILED: DeliveryState.FAILED,
    Outcome.AMBIGUOUS: DeliveryState.AMBIGUOUS,
    Outcome.DEFERRED: DeliveryState.PENDING,
}


class WelcomeState(StrEnum):
    SENT = "sent"
    NOT_SENT = "not accepted by the transport"
    ALREADY = "the reader already has the latest issue"
    NO_ISSUE = "no issue has been sent yet"


@dataclass(frozen=True)
class WelcomeOutcome:
    state: WelcomeState
    issue_id: str | None = None


class Welcomes:
    """Sends the welcome issue to readers who just confirmed."""

    def __init__(self, config: Config, store: Store, secret: Secret, mailer: Mailer) -> None:
        self.config = config
        self.store = store
        self.secret = secret
        self.mailer = mailer

    def send(self, subscriber: Subscriber, list_name: str) -> WelcomeOutcome:
        """Send the latest sent issue to `subscriber` (who joined `list_name`), once.
        StoreError if the store fails; ConfigError without public_base_url (no
        unsubscribe link could be made); a transport's refusal is recorded, not raised."""
        archived = self.store.issues.archived_issues()
        if not archived:
            return WelcomeOutcome(WelcomeState.NO_ISSUE)
        sent = self.store.issues.sent_issue_version(archived[0].version.id)
        if sent is None:
            return WelcomeOutcome(WelcomeState.NO_ISSUE)
        links = UnsubscribeLinks(self.config, self.secret)
        transport = self.config.delivery.transport
        delivery_id = self.store.readers.claim_welcome(
            issue_id=sent.issue_id,
            subscriber_id=subscriber.id,
            content_hash=sent.content_hash,
            message_hash=sent.message_hash,
            transport=transport,
        )
        if delivery_id is None:
            return WelcomeOutcome(WelcomeState.ALREADY, sent.issue_id)
        domain = sender_domain(self.config)
        spec = self.config.lists.get(list_name)
        message = IssueMessage(
            issue_id=sent.issue_id,
            list_name=WELCOME,  # the ledger's send: provider events find the delivery there
            subject=sent.subject,
            from_name=self.config.sender.name,
            from_email=self.config.sender.email,
            reply_to=self.config.sender.reply_to,
            html=sent.html,
            text=sent.text,
            unsubscribe_placeholder=sent.unsubscribe_placeholder,
            list_id=f"{list_name}.{domain}",
            list_label=(spec.description if spec else "") or list_name,
            unsubscribe_mailto=self.config.delivery.unsubscribe_mailto,
            categories=(*self.config.delivery.categories, WELCOME)[:10],
            message_id_domain=domain,
            content_hash=sent.content_hash,
            message_hash=sent.message_hash,
            digest_json=sent.digest_json,
            # The footer's preference link, as dispatch fills it in (an issue sent before
            # the link existed has no marker: nothing is replaced).
            preferences_placeholder=placeholder_for("preferences_url", sent.content_hash),
        )
        recipient = Recipient(
            email=subscriber.email,
            unsubscribe_url=links(subscriber.id),
            name=subscriber.name,
            subscriber_id=subscriber.id,
            preferences_url=PreferenceLinks(self.config, self.secret)(subscriber.id),
        )
        try:
            result = self.mailer.send(message.personalise(recipient))
            state, provider_id, error = _STATES[result.outcome], result.provider_id, result.error
        except NewsletterError as err:
            # Raised before or while handing over: the message may have left.
            state, provider_id, error = DeliveryState.AMBIGUOUS, None, err.message
        self.store.readers.record_welcome(delivery_id, state, provider_id, error)
        log.info("welcome issue %s to subscriber %s: %s", sent.issue_id, subscriber.id, state)
        if state != DeliveryState.ACCEPTED:
            return WelcomeOutcome(WelcomeState.NOT_SENT, sent.issue_id)
        return WelcomeOutcome(WelcomeState.SENT, sent.issue_id)
