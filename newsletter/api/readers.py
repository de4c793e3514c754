"""Readers' own sign-up, for the CLI: the embeddable form and the purge of stale sign-ups."""

from __future__ import annotations

from datetime import timedelta

from newsletter.api.results import PendingPurged
from newsletter.clock import Clock, SystemClock
from newsletter.config import Config
from newsletter.pages import signup_snippet
from newsletter.store import Store


def signup_form(config: Config) -> str:
    """The embeddable sign-up form: plain HTML, no script, posting to
    {public_base_url}/subscribe (see docs/readers.md)."""
    return signup_snippet(config)


def purge_pending(config: Config, *, clock: Clock | None = None) -> PendingPurged:
    """Delete the sign-ups left unconfirmed for signup.purge_pending_after_days (and the
    confirmed ones as old, which keep no address); StoreError (7) if there is no store."""
    now = (clock or SystemClock()).now()
    older_than = now - timedelta(days=config.signup.purge_pending_after_days)
    with Store.from_config(config, clock=clock) as store:
        purged = store.readers.purge_pending(older_than)
        left = store.readers.pending_count()
    return PendingPurged(purged=purged, older_than=older_than, still_pending=left)
