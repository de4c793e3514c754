"""The preview: the exact production message, marked [PREVIEW], to editors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from newsletter.api.results import PreviewReport
from newsletter.api.sending import configured_transport, prepare
from newsletter.clock import Clock
from newsletter.config import Config
from newsletter.errors import InputError
from newsletter.files import write_atomic
from newsletter.message import Recipient
from newsletter.message.links import preferences_url, unsubscribe_url
from newsletter.message.mime import mime_bytes
from newsletter.secrets import signing_secret
from newsletter.store import Store
from newsletter.transports import SendOptions


def preview_addresses(config: Config, store: Store, to: Sequence[str]) -> list[str]:
    """Who gets a preview: `to`, else delivery.preview_recipients, else the active members
    of the `editors` list. InputError (3) if that is nobody."""
    addresses = list(to) or [str(a) for a in config.delivery.preview_recipients]
    if not addresses and "editors" in config.lists:
        addresses = [
            s.email for batch in store.subscribers.iter_active_members("editors") for s in batch
        ]
    if not addresses:
        raise InputError(
            "nobody to preview to: give --to, set delivery.preview_recipients, "
            "or add editors to the `editors` list"
        )
    return addresses


def preview(
    config: Config,
    path: Path,
    to: Sequence[str] = (),
    eml: Path | None = None,
    transport: str | None = None,
    *,
    clock: Clock | None = None,
) -> PreviewReport:
    """Send the [PREVIEW] message to each address (see preview_addresses), writing each
    as `<issue>-preview-<email>.eml` into `eml` first if given. No delivery is recorded;
    each address is stored (as a subscriber with no list) so it has an unsubscribe link.
    The report's `error()` says how many were not accepted."""
    prepared = prepare(config, path, "preview")
    issue = prepared.message.preview()
    secret = signing_secret()
    with Store.from_config(config, clock=clock) as store:
        recipients = []
        for address in preview_addresses(config, store, to):
            subscriber = store.subscribers.ensure_subscriber(address)
            recipients.append(
                Recipient(
                    email=subscriber.email,
                    name=subscriber.name,
                    subscriber_id=subscriber.id,
                    unsubscribe_url=unsubscribe_url(config, subscriber.id, secret),
                    preferences_url=preferences_url(config, subscriber.id, secret),
                )
            )
    messages = [issue.personalise(r) for r in recipients]
    written = []
    if eml:
        for message in messages:
            target = eml / f"{issue.issue_id}-preview-{message.recipient.email}.eml"
            write_atomic(target, mime_bytes(message))
            written.append(target)
    with configured_transport(config, transport) as chosen:
        results = chosen.send(messages, SendOptions(preview=True))
    return PreviewReport(
        issue_id=issue.issue_id,
        recipients=tuple(recipients),
        eml_files=tuple(written),
        results=tuple(results),
        warnings=prepared.warnings,
    )
