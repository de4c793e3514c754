"""Per-recipient links: the signed unsubscribe URL."""

from __future__ import annotations

from newsletter.config import Config
from newsletter.errors import ConfigError
from newsletter.secrets import Secret
from newsletter.tokens import make_token

UNSUBSCRIBE_PATH = "/unsubscribe/"


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
    """Builds many recipients' unsubscribe URLs, checking the base URL once."""

    def __init__(self, config: Config, secret: Secret) -> None:
        self.base = public_base(config) + UNSUBSCRIBE_PATH
        self.secret = secret

    def __call__(self, subscriber_id: int) -> str:
        return self.base + make_token(subscriber_id, self.secret)
