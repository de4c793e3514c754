"""The published digest's text, as blocks, into digest JSON (format v1) and review notes.

The house format, read top to bottom:

- an optional title line and an optional date line (`26.04.2025`), in either order;
- the intro: every paragraph before the first item ("ASTANA – The Astana Times has …");
- an optional photo line, `Almaty. Photo credit: myflyright.com` (caption, then credit);
- the items: a headline (a short line without a final full stop; an `<h2>`–`<h6>` in
  HTML) followed by its paragraphs, the first of which names the outlet and the date.

Nothing is guessed into a value that looks certain: what cannot be found is left out
(optional fields) or set to a visible placeholder such as "[outlet needed]" (fields the
format requires), and every such case is a `Note` for the editor.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, replace
from typing import Any

from newsletter.digest import Digest, parse_digest
from newsletter.digest.models import MAX_ITEMS
from newsletter.errors import DigestInvalidError, ImportTextError
from newsletter.importer.blocks import Block, Kind, looks_like_html, text_blocks
from newsletter.importer.dates import DateLine, date_line, mentions, resolve
from newsletter.importer.markup import html_blocks
from newsletter.importer.outlets import Found, find_outlet
from newsletter.importer.quotes import ItemParts, split_item

MAX_SOURCE_CHARS = 2_000_000
MAX_PARAGRAPH_CHARS = 5000  # the format's limit on a paragraph (digest.models.Paragraph)
_MAX_HEADLINE_CHARS = 250
_MAX_HEADLINE_WORDS = 35
_CAPTION = re.compile(
    r"\A(?P<caption>.*?)\s*\bPhoto(?:\s+credit)?\s*:\s*(?P<credit>\S.*?)\s*\.?\Z", re.IGNORECASE
)
_INTRO = re.compile(r"\A(?:ASTANA\b|The Astana Times\b)")


def placeholder(what: str) -> str:
    """The visible stand-in for a required field the text does not give."""
    return f"[{what} needed]"


@dataclass(frozen=True)
class Note:
    """One thing the editor should check: where (`title`, `date`, `intro`, `hero`,
    `item 3 (“UK gifts Kazakhstan…”)`) and why."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass(frozen=True)
class ImportedDigest:
    """The digest made from a text: its JSON (`json_text()`, validated as `newsletter
    validate` reads it), the validated `Digest`, the notes for review, and whether the
    source was read as HTML."""

    data: dict[str, Any]
    digest: Digest
    notes: tuple[Note, ...]
    html: bool

    def json_text(self) -> str:
        return json.dumps(self.data, ensure_ascii=False, indent=2) + "\n"


def headline_like(text: str) -> bool:
    """A short line with a letter and no final full stop, comma, colon, semicolon or
    ellipsis (a closing quotation mark or bracket aside): how headlines look."""
    core = text.rstrip('”’"»)] ')
    return (
        bool(core)
        and len(text) <= _MAX_HEADLINE_CHARS
        and len(text.split()) <= _MAX_HEADLINE_WORDS
        and core[-1] not in ".,;:…"
        and any(char.isalpha() for char in text)
        and caption(text) is None
    )


def caption(text: str) -> dict[str, str] | None:
    """The photo line as a hero's caption and credit: "Almaty. Photo credit:
    myflyright.com" → {"caption": "Almaty.", "credit": "myflyright.com"}; None when the
    line is not one (or too long to be one)."""
    match = _CAPTION.match(text) if len(text) <= 300 else None
    if match is None or len(match["credit"]) > 100 or len(match["credit"].split()) > 8:
        return None
    hero = {"caption": match["caption"]} if match["caption"] else {}
    return hero | {"credit": match["credit"]}


def _one_or_many(paragraphs: list[str] | tuple[str, ...]) -> str | list[str]:
    return paragraphs[0] if len(paragraphs) == 1 else list(paragraphs)


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:39].rstrip() + "…"


class _Reader:
    """One pass over the blocks, keeping the notes."""

    def __init__(self, blocks: list[Block], source: str) -> None:
        self.blocks = blocks
        self.source = source
        self.notes: list[Note] = []
        self.headings = any(block.kind is Kind.HEADING for block in blocks)

    def note(self, where: str, reason: str) -> None:
        self.notes.append(Note(where, reason))

    def starts_item(self, index: int) -> bool:
        """A headline: an HTML heading, or, when the page has none, a headline-like
        line followed by a paragraph (not by another such line, nor by the end)."""
        block = self.blocks[index]
        if block.kind in (Kind.HEADING, Kind.TITLE):
            return True
        if self.headings or block.kind is Kind.QUOTE or not headline_like(block.text):
            return False
        following = self.blocks[index + 1] if index + 1 < len(self.blocks) else None
        return following is not None and (
            following.kind is Kind.QUOTE
            or (not headline_like(following.text) and caption(following.text) is None)
        )

    def _is_title(self, index: int) -> bool:
        block = self.blocks[index]
        if block.kind is Kind.TITLE:
            return True
        if block.kind not in (Kind.LINE, Kind.PARAGRAPH) or not headline_like(block.text):
            return False
        if _INTRO.match(block.text) or index + 1 >= len(self.blocks):
            return False
        following = self.blocks[index + 1].text
        return date_line(following) is not None or bool(_INTRO.match(following))

    def preamble(self) -> tuple[str | None, DateLine | None, list[str], dict[str, str], int]:
        """Title, date line, intro paragraphs, hero, and the index of the first item."""
        title: str | None = None
        dated: DateLine | None = None
        index = 0
        while index < len(self.blocks):
            block = self.blocks[index]
            if dated is None and (found := date_line(block.text)) is not None:
                dated = found
                if found.rest:  # "date 2025-09-05 ASTANA – …": the intro follows on the line
                    self.blocks[index] = replace(block, text=found.rest)
                else:
                    index += 1
            elif title is None and self._is_title(index):
                title = block.text
                index += 1
            else:
                break
        intro: list[str] = []
        hero: dict[str, str] = {}
        while index < len(self.blocks) and not self.starts_item(index):
            text = self.blocks[index].text
            found_hero = caption(text) if not hero else None
            if found_hero is not None:
                hero = found_hero
            else:
                intro.append(text)
            index += 1
        return title, dated, intro, hero, index

    def items(self, start: int) -> list[tuple[Block, list[Block]]]:
        """Each headline with the blocks under it."""
        items: list[tuple[Block, list[Block]]] = []
        for index in range(start, len(self.blocks)):
            block = self.blocks[index]
            if self.starts_item(index):
                items.append((block, []))
                continue
            where = f"item {len(items)} ({_short(items[-1][0].text)})"
            if caption(block.text) is not None:
                self.note(where, f"a photo line among the items, left out: “{block.text}”")
                continue
            if block.kind in (Kind.LINE, Kind.PARAGRAPH) and headline_like(block.text):
                self.note(
                    where,
                    f"“{_short(block.text)}” looks like a headline but no paragraph follows "
                    "it: kept as a paragraph of this item",
                )
            items[-1][1].append(block)
        return items


def _issue_date(reader: _Reader, dated: DateLine | None, given: dt.date | None) -> dt.date:
    if dated is not None and dated.date is None:
        reader.note("date", f"the date line “{dated.written}” names no real day")
    elif dated is not None and dated.date is not None:
        if given is None:
            return dated.date
        if given != dated.date:
            reader.note(
                "date",
                f"--date {given.isoformat()} differs from the text’s date line "
                f"“{dated.written}”: used --date",
            )
    if given is None:
        raise ImportTextError(
            f"{reader.source}: no issue date: the text has no date line (e.g. 26.04.2025)",
            hint="give the issue's date: --date YYYY-MM-DD",
        )
    return given


def _published(
    reader: _Reader, where: str, first: str, found: Found | None, issue: dt.date
) -> str | None:
    mention = found.mention if found is not None else None
    if mention is None:
        written = mentions(first)
        distinct = {(m.month, m.day, m.year) for m in written}
        if len(distinct) > 1:
            listed = ", ".join(f"“{m.written}”" for m in written)
            reader.note(
                where, f"several dates in the first paragraph ({listed}): published left out"
            )
            return None
        if not written:
            reader.note(where, "no date in the first paragraph: published left out")
            return None
        mention = written[0]
    day = resolve(mention, issue)
    if day is None:
        reader.note(where, f"“{mention.written}” is not a real date: published left out")
        return None
    if day > issue:
        reader.note(where, f"published {day.isoformat()} is after the issue date {issue}")
    return day.isoformat()


def _item(
    reader: _Reader, number: int, head: Block, blocks: list[Block], issue: dt.date
) -> dict[str, Any]:
    where = f"item {number} ({_short(head.text)})"
    parts: ItemParts = split_item(blocks)
    for reason in parts.notes:
        reader.note(where, reason)
    summary = list(parts.summary)
    if not summary:
        reader.note(
            where, f"no paragraph under the headline: summary is “{placeholder('summary')}”"
        )
        summary = [placeholder("summary")]
    found = find_outlet(summary[0])
    item: dict[str, Any] = {"headline": head.text}
    if found is None:
        reader.note(
            where,
            "no outlet found in the first paragraph (e.g. “Euractiv published an article on "
            f"…”, “… reported Euronews on …”): outlet is “{placeholder('outlet')}”",
        )
    item["outlet"] = found.outlet if found is not None else placeholder("outlet")
    if (published := _published(reader, where, summary[0], found, issue)) is not None:
        item["published"] = published
    if found is not None and found.author is not None:
        item["author"] = found.author
    item["summary"] = _one_or_many(summary)
    if parts.quote is not None:
        quote: dict[str, Any] = {"text": _one_or_many(parts.quote.paragraphs)}
        if parts.quote.cite is not None:
            quote["cite"] = parts.quote.cite
        item["quote"] = quote
    return item


def import_text(
    text: str,
    *,
    issue_date: dt.date | None = None,
    source: str = "<text>",
    html: bool | None = None,
) -> ImportedDigest:
    """Turn a published digest's text into digest JSON and review notes.

    `text` is plain text (one paragraph per line) or, when `html` is True (None: when
    it starts like HTML), an HTML page or fragment. `issue_date` is the issue's date
    when the text has no date line (it wins over one, with a note). `source` names the
    text in errors. Raises ImportTextError (exit 13) when the text cannot become a
    valid digest: no date, no item, more than 30 items, a control character, or a
    paragraph beyond the format's limits."""
    if len(text) > MAX_SOURCE_CHARS:
        raise ImportTextError(f"{source}: {len(text):,} characters; the importer reads 2 MB")
    is_html = looks_like_html(text) if html is None else html
    blocks = html_blocks(text, source) if is_html else text_blocks(text, source)
    if not blocks:
        raise ImportTextError(f"{source}: no text to import")
    for block in blocks:  # refused before any search, which would be slow on such text
        if len(block.text) > MAX_PARAGRAPH_CHARS:
            where = "block" if is_html else "line"
            raise ImportTextError(
                f"{source}: {where} {block.line}: a paragraph of {len(block.text):,} "
                f"characters; the digest format holds at most {MAX_PARAGRAPH_CHARS:,}",
                hint="split it into paragraphs (one per line)",
            )
    reader = _Reader(blocks, source)
    title, dated, intro, hero, start = reader.preamble()
    heads = reader.items(start)
    if not heads:
        raise ImportTextError(
            f"{source}: no item found: expected headline lines, each followed by its paragraphs"
        )
    if len(heads) > MAX_ITEMS:
        raise ImportTextError(
            f"{source}: {len(heads)} items; a digest holds at most {MAX_ITEMS}",
            hint="split the text into two issues",
        )
    issue = _issue_date(reader, dated, issue_date)
    if title is None:
        reader.note("title", f"no title line: the title is “{placeholder('title')}”")
    if not intro:
        reader.note("intro", f"no intro paragraph before the first item: “{placeholder('intro')}”")
    data: dict[str, Any] = {
        "title": title or placeholder("title"),
        "date": issue.isoformat(),
        "intro": _one_or_many(intro or [placeholder("intro")]),
    }
    if hero:
        data["hero"] = hero
    data["items"] = [
        _item(reader, number, head, under, issue)
        for number, (head, under) in enumerate(heads, start=1)
    ]
    return _validated(data, tuple(reader.notes), is_html, source)


def _validated(
    data: dict[str, Any], notes: tuple[Note, ...], is_html: bool, source: str
) -> ImportedDigest:
    """Read the JSON back exactly as `newsletter validate` would: what is written is
    valid, or nothing is."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    try:
        digest = parse_digest(text, source)
    except DigestInvalidError as err:
        problems = "; ".join(str(problem) for problem in err.problems[:3])
        raise ImportTextError(
            f"{source}: the text does not fit the digest format: {problems}",
            hint="shorten or split what is named, then import again",
        ) from err
    return ImportedDigest(data, digest, notes, is_html)
