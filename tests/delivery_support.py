"""Helpers shared by the message and transport tests: an issue ready to address."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import replace

from newsletter.config import Config, Publication, load_config
from newsletter.digest import Digest, load_digest, parse_digest
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


def _fill(unit: str, characters: int) -> str:
    return (unit * (characters // len(unit) + 1))[:characters]


def spaceless_digest() -> Digest:
    """A valid digest at the limits, written without spaces (the line breaker's hard case):
    4,500-character Chinese, Japanese, Thai and Arabic paragraphs, emoji ZWJ sequences,
    combining marks and flags, 300-character headlines, and the longest URLs and alt
    text the format accepts (800 octets as written in HTML)."""
    chinese = _fill("哈萨克斯坦外交部表示，阿斯塔纳将继续推行多元平衡的对外政策。", 4500)
    japanese = _fill("カザフスタンの首都アスタナで国際会議が開かれ、各国の代表が集まった。", 4500)
    thai = _fill("ประเทศคาซัคสถานเป็นประเทศที่ใหญ่ที่สุดในเอเชียกลาง", 4500)
    arabic = _fill("أعلنتوزارةالخارجيةالكازاخستانيةأنأستانةستواصلسياستهاالمتوازنة", 4500)
    emoji = _fill("👩‍👩‍👧‍👦🇰🇿e\u0301👍🏽", 2000)
    image = "https://images.example.com/" + "a" * (800 - 27 - 4) + ".jpg"
    # 798 octets as written in HTML, where each & is written &amp;
    url = "https://news.example.com/article?" + "k=v&" * 95 + "end=1"
    data = {
        "title": "🇰🇿" * 100,  # 800 octets in the <title>, which cannot be broken
        "date": "2025-09-12",
        "intro": [chinese],
        "hero": {"image": image, "alt": "照" * 266, "caption": thai, "credit": "写真" * 100},
        "items": [
            {
                "headline": "哈" * 300,
                "outlet": "新" * 200,
                "url": url,
                "summary": [chinese, japanese],
                "quote": {"text": japanese, "cite": "語" * 200},
            },
            {"headline": "ก" * 300, "outlet": "ข่าว", "url": image, "summary": [thai]},
            {"headline": "خ" * 300, "outlet": "الأخبار", "summary": [arabic]},
            {"headline": "1" * 300, "outlet": "Emoji", "summary": [emoji, "9" * 5000]},
        ],
    }
    return parse_digest(json.dumps(data, ensure_ascii=False), "spaceless.json")


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
    "spaceless_digest",
]
