"""What every rule looks at: the digest, the rendered issue and the settings, read once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from newsletter.check.html_facts import HtmlFacts, read_html
from newsletter.config import Config
from newsletter.digest import Digest
from newsletter.render import RenderedIssue


@dataclass(frozen=True)
class CheckedIssue:
    """The input of every rule. Rules are pure functions of it: no I/O, no clock."""

    config: Config
    rendered: RenderedIssue

    @property
    def digest(self) -> Digest:
        return self.rendered.digest

    @cached_property
    def html(self) -> HtmlFacts:
        return read_html(self.rendered.html)

    @property
    def unsubscribe_marker(self) -> str:
        """What delivery replaces with each reader's own unsubscribe URL."""
        return self.rendered.placeholders["unsubscribe_url"]

    @property
    def delivery_markers(self) -> tuple[str, ...]:
        """Every marker delivery fills in per reader (unsubscribe, preferences)."""
        return tuple(self.rendered.placeholders.values())

    def digest_urls(self) -> dict[str, str]:
        """Each URL the digest gives, to the JSON path of its first occurrence."""
        found: dict[str, str] = {}
        hero = self.digest.hero
        if hero is not None and hero.image:
            found.setdefault(hero.image, "hero.image")
        for number, item in enumerate(self.digest.items):
            if item.url:
                found.setdefault(item.url, f"items[{number}].url")
        return found
