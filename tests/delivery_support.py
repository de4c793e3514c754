"""Helpers shared by the message and transport tests: an issue ready to address."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace

from newsletter.config import Config, Publication, load_config
from newsletter.digest import load_digest
from newsletter.message import IssueMessage, PersonalMessage, Recipient, build_issue_message
from newsletter.render import RenderedIssue, render_issue
from tests.conftest import REPO

PUBLIC = "https://news.example.com"


def delivery_config(**delivery: object) -> Config:
    """The repo's config with a public base URL and optional delivery overrides."""
    config = load_config(REPO / "config.yaml")
    publication = config.publication.model_copy(update={"public_base_url": PUBLIC})
    update: dict[str, object] = {"publication": publication}
    if delivery:
        merged = {**config.delivery.model_dump(), **delivery}
        update["delivery"] = type(config.delivery).model_validate(merged)
    return config.model_copy(update=update)


def sample_rendered(config: Config) -> RenderedIssue:
    """The 2025-09-12 sample digest, rendered."""
    return render_issue(load_digest(REPO / "digests/2025-09-12.json"), config)


def sample_issue(config: Config | None = None, list_name: str = "weekly") -> IssueMessage:
    """The 2025-09-12 sample digest, rendered and ready to personalise (ids m000001…)."""
    config = config or delivery_config()
    rendered = sample_rendered(config)
    counter = itertools.count(1)
    issue = build_issue_message(rendered, config, list_name)
    return replace(issue, new_message_id=lambda: f"m{next(counter):06d}")


def recipients(count: int, start: int = 1) -> Iterator[Recipient]:
    """Recipients r1@example.com…, each with their own unsubscribe URL."""
    for n in range(start, start + count):
        yield Recipient(
            email=f"reader{n}@example.com",
            name=f"Reader “{n}” Ünal" if n % 2 else None,
            subscriber_id=n,
            unsubscribe_url=f"{PUBLIC}/unsubscribe/{n}.token{n}",
        )


def personal_messages(count: int, issue: IssueMessage | None = None) -> list[PersonalMessage]:
    issue = issue or sample_issue()
    return [issue.personalise(r) for r in recipients(count)]


__all__ = [
    "PUBLIC",
    "Publication",
    "delivery_config",
    "personal_messages",
    "recipients",
    "sample_issue",
    "sample_rendered",
]
