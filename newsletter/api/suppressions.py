"""SendGrid's suppression lists into the store: `pull_suppressions`, and the pull
`dispatch` makes first when it sends through SendGrid."""

from __future__ import annotations

from newsletter.api.results import SuppressionPullOutcome
from newsletter.config import Config
from newsletter.errors import DeliveryError
from newsletter.store.store import Store
from newsletter.suppressions import Puller, PullReport


def pull_suppressions(config: Config) -> PullReport:
    """Read SendGrid's lists into the store (needs SENDGRID_API_KEY). Raises ConfigError
    (4) without a key, AuthenticationError (8) when SendGrid refuses it, DeliveryError
    when SendGrid cannot be read, StoreError (7)."""
    from newsletter.transports.sendgrid import SendGridTransport  # sendgrid only when pulling

    settings = config.delivery.sendgrid
    transport = SendGridTransport(settings, retry_base_seconds=config.delivery.retry_base_seconds)
    try:
        with Store.from_config(config) as store:
            puller = Puller(
                transport,
                store,
                attempts=settings.max_attempts,
                retry_base_seconds=config.delivery.retry_base_seconds,
            )
            return puller.pull(settings.asm_group_id)
    finally:
        transport.close()


def pull_before_dispatch(config: Config, transport: str | None) -> SuppressionPullOutcome | None:
    """`dispatch` with SendGrid: pull its suppressions first, so nobody who unsubscribed
    through SendGrid is counted in the audience. None with another transport. A failure
    is an outcome with its reason, not an error: SendGrid itself still refuses to mail
    its suppressed addresses, and a key limited to Mail Send is a sound setup."""
    if (transport or config.delivery.transport) != "sendgrid":
        return None
    try:
        return SuppressionPullOutcome(report=pull_suppressions(config))
    except DeliveryError as err:
        return SuppressionPullOutcome(report=None, error=err.message)
