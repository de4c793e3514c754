"""Rules over what the editors wrote: the subject, preheader, items, dates and links.

Each rule is a function of a CheckedIssue that yields Findings; the numbers come from
the issue that asked for the check (docs/check.md gives each rule's reason).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from newsletter.check.findings import Finding, blocking, warning
from newsletter.check.issue import CheckedIssue
from newsletter.check.links import link_problem
from newsletter.validation import json_path

SUBJECT_MAX = 200  # blocking: the digest format's cap on `subject` (a title may run to 300)
SUBJECT_WARN = 78  # RFC 5322's line length; phones show about 40–70 characters
PREHEADER_RANGE = (40, 130)  # shorter is filled with body text, longer is cut by clients
ITEM_MAX_WORDS = 250
PUBLISHED_MAX_AGE = dt.timedelta(days=14)

# Leftovers of a draft or a template that must never reach readers.
PLACEHOLDERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # Opening marks alone count: "{{ name" left half-typed is as unresolved as "{{ name }}".
    ("a template tag {{ … }}", re.compile(r"\{\{[^{}]{0,60}(?:\}\})?")),
    ("a template tag {% … %}", re.compile(r"\{%[^{}]{0,60}(?:%\})?")),
    ("a merge tag *|…|*", re.compile(r"\*\|[^|\s]{1,40}\|\*")),
    ("a merge tag %%…%%", re.compile(r"%%[^%\s]{1,40}%%")),
    ("a placeholder [[…]]", re.compile(r"\[\[[^\]]{0,40}\]\]")),
    (
        "a bracketed placeholder",
        re.compile(
            r"\[(?:insert|add|link|url|headline|title|summary|quote|tk|tbc|tbd|todo|"
            r"placeholder|photo|image|caption|credit|name|date|outlet)\b[^\]]{0,60}\]",
            re.IGNORECASE,
        ),
    ),
    ("an editor's note (TODO, FIXME, TKTK)", re.compile(r"\b(?:TODO|FIXME|TKTK)\b")),
    ("dummy text (lorem ipsum)", re.compile(r"\blorem\s+ipsum\b", re.IGNORECASE)),
)


def _strings(value: Any, path: tuple[int | str, ...] = ()) -> Iterator[tuple[str, str]]:
    """Every text of the digest with its JSON path, in the digest's order."""
    if isinstance(value, str):
        yield json_path(path), value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from _strings(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _strings(inner, (*path, index))


def visible(text: str) -> str:
    """`text` without spaces and invisible format characters (zero-width space, BOM …)."""
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cf")


def placeholders(issue: CheckedIssue) -> Iterator[Finding]:
    for path, text in _strings(issue.digest.model_dump(mode="json")):
        for name, pattern in PLACEHOLDERS:
            if match := pattern.search(text):
                yield blocking(
                    "placeholder",
                    path,
                    f"unresolved placeholder: {name}, {match.group(0)[:60]!r}",
                    "replace it with the final text (or remove it)",
                )
                break


def subject(issue: CheckedIssue) -> Iterator[Finding]:
    digest = issue.digest
    path = "subject" if digest.subject else "title"
    text = digest.email_subject
    length = len(text)
    defaulted = "" if digest.subject else " (no `subject`, so the issue's title is used)"
    if not visible(text):
        yield blocking("subject-empty", path, "the subject is empty", "write a subject")
    elif length > SUBJECT_MAX:
        yield blocking(
            "subject-too-long",
            path,
            f"the subject is {length} characters{defaulted}; at most {SUBJECT_MAX} are allowed",
            f"set `subject` to a shorter line (under {SUBJECT_WARN} characters reads best)",
        )
    elif length > SUBJECT_WARN:
        yield warning(
            "subject-long",
            path,
            f"the subject is {length} characters{defaulted}; phones show about 40–70",
            f"set `subject` to at most {SUBJECT_WARN} characters, most important words first",
        )


def preheader(issue: CheckedIssue) -> Iterator[Finding]:
    text = issue.digest.email_preheader
    low, high = PREHEADER_RANGE
    if not low <= len(text) <= high:
        origin = "" if issue.digest.preheader else " (made from the headlines)"
        yield warning(
            "preheader-length",
            "preheader",
            f"the preheader is {len(text)} characters{origin}; inboxes show {low}–{high}",
            f"set `preheader` to {low}–{high} characters that sell the issue",
        )


def missing_urls(issue: CheckedIssue) -> Iterator[Finding]:
    for number, item in enumerate(issue.digest.items):
        if not item.url:
            yield warning(
                "item-without-url",
                f"items[{number}].url",
                f"item {number + 1} ({item.outlet}) has no link to the article",
                "add the article's `url` so readers can read it at the outlet",
            )


def _same(url: str) -> str:
    """A URL as two links to the same page compare: scheme and host in lower case, no
    fragment, no trailing slash."""
    parts = urlsplit(url)
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query, "")
    )


def duplicate_urls(issue: CheckedIssue) -> Iterator[Finding]:
    first: dict[str, int] = {}
    for number, item in enumerate(issue.digest.items):
        if not item.url:
            continue
        key = _same(item.url)
        if key in first:
            yield warning(
                "duplicate-url",
                f"items[{number}].url",
                f"item {number + 1} links to the same page as item {first[key] + 1}",
                "link each item to its own article, or merge the two items",
            )
        else:
            first[key] = number


def published_dates(issue: CheckedIssue) -> Iterator[Finding]:
    date = issue.digest.date
    for number, item in enumerate(issue.digest.items):
        published = item.published
        if published is None:
            continue
        path = f"items[{number}].published"
        if published > date:
            yield warning(
                "published-after-issue",
                path,
                f"published {published} is after the issue date {date}",
                "check the date (a typo in the year or month?)",
            )
        elif date - published > PUBLISHED_MAX_AGE:
            yield warning(
                "published-long-ago",
                path,
                f"published {published}, {(date - published).days} days before the issue "
                f"(more than {PUBLISHED_MAX_AGE.days})",
                "check the date, or say in the summary why an older article is included",
            )


def _is_spaceless(char: str) -> bool:
    """Han, kana, Thai and other scripts written without spaces between words."""
    name = unicodedata.name(char, "")
    return name.startswith(("CJK", "HIRAGANA", "KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR"))


def words(text: str) -> int:
    """Words in `text`: space-separated words, and each character of scripts written
    without spaces (the usual count for Chinese and Japanese)."""
    count = 0
    for token in text.split():
        spaceless = sum(1 for c in token if _is_spaceless(c))
        count += spaceless + (
            1 if spaceless < len(token) and any(c.isalnum() for c in token) else 0
        )
    return count


def long_items(issue: CheckedIssue) -> Iterator[Finding]:
    for number, item in enumerate(issue.digest.items):
        paragraphs = [*item.summary, *(item.quote.text if item.quote else [])]
        count = words(" ".join(paragraphs))
        if count > ITEM_MAX_WORDS:
            yield warning(
                "item-long",
                f"items[{number}].summary",
                f"item {number + 1} has {count} words (summary and quote); over {ITEM_MAX_WORDS}",
                "shorten the summary or the quote: readers come for the gist",
            )


def hero_alt(issue: CheckedIssue) -> Iterator[Finding]:
    """The schema requires `hero.alt` with an image, but invisible characters pass it."""
    hero = issue.digest.hero
    if hero is not None and hero.image and not visible(hero.alt or ""):
        yield blocking(
            "image-alt",
            "hero.alt",
            "the hero image has no alt text (only spaces or invisible characters)",
            "describe the photo in `hero.alt`: what a reader who cannot see it should know",
        )


def digest_links(issue: CheckedIssue) -> Iterator[Finding]:
    rules = issue.config.check
    for url, path in issue.digest_urls().items():
        if (problem := link_problem(url, rules)) is not None:
            yield blocking("link", path, problem, "link to the published page on the public web")
