"""Readers' own sign-up with double opt-in (docs/readers.md), as a library: no HTTP.

`Signups` takes a posted sign-up form, stores it as a pending sign-up and sends
the confirmation email (`newsletter.notices`) with a signed link that expires;
confirming that link subscribes the reader and writes their consent record.
`SlidingWindow` is the in-memory rate limit the web endpoint applies per client
IP and per address. `Mailer` sends one notice through the configured transport.
"""

from newsletter.readers.limits import SlidingWindow
from newsletter.readers.mailer import Mailer, TransportMailer
from newsletter.readers.signup import (
    CONFIRM_PATH,
    SignupOutcome,
    SignupRequest,
    Signups,
    consent_text_hash,
)
from newsletter.readers.welcome import WelcomeOutcome, Welcomes, WelcomeState
from newsletter.store import address_hash

__all__ = [
    "CONFIRM_PATH",
    "Mailer",
    "SignupOutcome",
    "SignupRequest",
    "Signups",
    "SlidingWindow",
    "TransportMailer",
    "WelcomeOutcome",
    "WelcomeState",
    "Welcomes",
    "address_hash",
    "consent_text_hash",
]
