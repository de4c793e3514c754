"""Per-recipient links: the signed unsubscribe URL and the preference page's URL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from newsletter.config import Config
from newsletter.errors import ConfigError, MessageError
from newsletter.message.build import check_unsubscribe_url, list_unsubscribe_value
from newsletter.message.headers import token_header
from newsletter.secrets import Secret
from newsletter.tokens import MAX_ID, PREFERENCES, TokenSigner, make_token

UNSUBSCRIBE_PATH = "/unsubscribe/"
PREFERENCES_PATH = "/preferences/"


@runtime_checkable
class BatchLinks(Protocol):
    """Links (a URL per subscriber id) that can also make a batch's at once: `many(ids)`
    is `[links(i) for i in ids]` (UnsubscribeLinks, PreferenceLinks)."""

    def __call__(self, subscriber_id: int) -> str: ...

    def many(self, subscriber_ids: Sequence[int]) -> list[str]: ...


def public_base(config: Config) -> str:
    base = config.publication.public_base_url
    if not base:
        raise ConfigError(
            "publication.public_base_url is not set: unsubscribe links need the public "
            "address of `newsletter serve`",
            hint="set it in config.yaml, e.g. https://newsletter.example.com",
        )
    return base.rstrip("/")


def unsubscribe_url(config: Config, subscriber_id: int, secret: Secret) -> str:
    """The subscriber's one-click unsubscribe URL on the public web endpoint."""
    return UnsubscribeLinks(config, secret)(subscriber_id)


class UnsubscribeLinks:
    """Builds many recipients' unsubscribe URLs, checking the base URL once.

    ConfigError (naming publication.public_base_url) when no message could carry
    its links: every recipient's URL shares the base, so the longest possible one
    (the largest subscriber id's) is checked as it would go into List-Unsubscribe,
    before anything is sent or recorded, not found out reader by reader."""

    def __init__(self, config: Config, secret: Secret) -> None:
        self.base = public_base(config) + UNSUBSCRIBE_PATH
        self.secret = secret
        self._sign = TokenSigner(secret)
        # A stand-in of the longest token's length: a real token is a credential and
        # must not appear in the error.
        longest = self.base + "x" * len(make_token(MAX_ID, secret))
        try:
            check_unsubscribe_url(longest)
            value = list_unsubscribe_value(longest, config.delivery.unsubscribe_mailto)
            token_header("List-Unsubscribe", value)
        except MessageError as err:
            raise ConfigError(
                f"publication.public_base_url: {err.message}",
                hint="it must be an https URL in ASCII, short enough for one header line "
                "with an unsubscribe token (see docs/configuration.md)",
            ) from err

    def __call__(self, subscriber_id: int) -> str:
        return self.base + self._sign(subscriber_id)

    def many(self, subscriber_ids: Sequence[int]) -> list[str]:
        """The URLs of `subscriber_ids`, in order (one batch's; see TokenSigner.many)."""
        return _signed_urls(self.base, self._sign, subscriber_ids)


def preferences_url(config: Config, subscriber_id: int, secret: Secret) -> str:
    """The subscriber's preference page on the public web endpoint (a token of its own
    purpose: an unsubscribe token does not open it, nor it an unsubscribe)."""
    return PreferenceLinks(config, secret)(subscriber_id)


class PreferenceLinks:
    """Builds many recipients' preference-page URLs (ConfigError without a base URL)."""

    def __init__(self, config: Config, secret: Secret) -> None:
        self.base = public_base(config) + PREFERENCES_PATH
        self._sign = TokenSigner(secret, PREFERENCES)

    def __call__(self, subscriber_id: int) -> str:
        return self.base + self._sign(subscriber_id)

    def many(self, subscriber_ids: Sequence[int]) -> list[str]:
        """The URLs of `subscriber_ids`, in order (one batch's; see TokenSigner.many)."""
        return _signed_urls(self.base, self._sign, subscriber_ids)


def _signed_urls(base: str, sign: TokenSigner, subscriber_ids: Sequence[int]) -> list[str]:
    """`base` + each id's token, in order."""
    return sign.many(subscriber_ids, before=base)
