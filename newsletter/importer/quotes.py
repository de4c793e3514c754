"""Separating an item's quotation from its summary.

A quotation is a run of paragraphs whose first opens with a quotation mark (“, « or ")
or that sits in a `<blockquote>`. It may run over several paragraphs (each may open
with the mark again, as English style allows) and ends where the mark that opened it
is closed: then either nothing follows, or an attribution does (", reads the article.",
"” the article reads.", "said Karabayev."). The quotation's text is kept without its
marks and without the comma before the attribution; the attribution without its full
stop. A paragraph that opens with a quotation but goes on with more than an
attribution ("“Yes,” he said, adding that …") is a summary sentence, and a quotation
inside a summary sentence stays part of the summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from newsletter.importer.blocks import Block, Kind

_OPENING = '“«"'
_SPEECH = re.compile(
    r"\b(?:said|says|say|reads|read|wrote|writes|write|noted|notes|added|adds|stated|states"
    r"|explained|explains|told|tells|stressed|stresses|emphasized|emphasised|emphasizes"
    r"|concluded|concludes|continued|continues|asked|asks|commented|remarked|argued|argues"
    r"|underlined|underlines|highlighted|pointed out|according to|quoted|declared|insisted"
    r"|recalled|warned|observed|claimed|claims|believes|mentioned)\b"
)
_MAX_CITE_WORDS = 8
_MAX_CITE_CHARS = 80


@dataclass(frozen=True)
class QuoteRun:
    """One quotation: its paragraphs without marks, its attribution (None when there is
    none), its paragraphs as written, and whether its closing mark was found."""

    paragraphs: tuple[str, ...]
    cite: str | None
    written: tuple[str, ...]
    closed: bool


@dataclass(frozen=True)
class ItemParts:
    """An item's paragraphs sorted: the summary (in order, with any further quotation
    kept as written), the quotation, and what the editor should check."""

    summary: tuple[str, ...]
    quote: QuoteRun | None
    notes: tuple[str, ...]


def opens_quote(text: str) -> bool:
    return text[:1] in _OPENING


def attribution(tail: str) -> str | None:
    """The attribution after a closing mark (", reads the article." → "reads the
    article"), or None when what follows is not one: more than eight words, another
    sentence, or no verb of saying."""
    cite = tail.strip().lstrip(",").strip().removesuffix(".").strip()
    if not cite or len(cite) > _MAX_CITE_CHARS or len(cite.split()) > _MAX_CITE_WORDS:
        return None
    if any(mark in cite for mark in '“”"«».!?;:'):
        return None
    return cite if _SPEECH.search(cite) else None


def _close(text: str, depth: int) -> tuple[int | None, int]:
    """Where in `text` the quotation open `depth` levels deep is closed (None: still
    open at the end), and the depth then. Straight quotes open after a space or at the
    start, and close elsewhere."""
    for index, char in enumerate(text):
        if char in "“«" or (char == '"' and (index == 0 or text[index - 1] in " ([—–-")):
            depth += 1
        elif char in '”»"':
            depth -= 1
            if depth == 0:
                return index, 0
    return None, depth


def _strip_opening(text: str) -> str:
    return text[1:].lstrip() if opens_quote(text) else text


def _ending(texts: list[str], last: str, written: list[str]) -> QuoteRun | None:
    """The quotation whose last paragraph is `last` (closing mark included), or None
    when more than an attribution follows the mark."""
    body = _strip_opening(last)
    closed_at, _ = _close(body, 1)
    if closed_at is None:
        return None
    inner, tail = body[:closed_at].strip(), body[closed_at + 1 :]
    cite = attribution(tail)
    if cite is None and tail.strip(" ,."):
        return None
    text = inner.removesuffix(",").rstrip() if cite else inner
    return QuoteRun((*texts, text), cite, tuple(written), True)


def _text_quote(blocks: list[Block], start: int) -> tuple[QuoteRun | None, int]:
    """The quotation opening at `blocks[start]` and the index after it; (None, start)
    when that paragraph is a summary sentence that merely opens with a quotation."""
    texts: list[str] = []
    written: list[str] = []
    depth = 1
    body = blocks[start].text[1:]
    for index in range(start, len(blocks)):
        text = blocks[index].text
        if index > start:
            body = _strip_opening(text)
        written.append(text)
        closed_at, depth = _close(body, depth)
        if closed_at is None:
            texts.append(body.strip())
            continue
        inner, tail = body[:closed_at].strip(), body[closed_at + 1 :]
        cite = attribution(tail)
        if cite is None and tail.strip(" ,."):
            return None, start
        texts.append(inner.removesuffix(",").rstrip() if cite else inner)
        return QuoteRun(tuple(texts), cite, tuple(written), True), index + 1
    return QuoteRun(tuple(texts), None, tuple(written), False), len(blocks)


def _blockquote(blocks: list[Block], start: int) -> tuple[QuoteRun, int]:
    """A run of <blockquote> paragraphs: the marks are optional there."""
    end = start
    while end < len(blocks) and blocks[end].kind is Kind.QUOTE:
        end += 1
    written = [block.text for block in blocks[start:end]]
    texts = [_strip_opening(text) for text in written[:-1]]
    ending = _ending(texts, written[-1], written)
    if ending is not None:
        return ending, end
    return QuoteRun((*texts, _strip_opening(written[-1])), None, tuple(written), True), end


def split_item(blocks: list[Block]) -> ItemParts:
    """Sort an item's paragraphs (those after its headline) into summary and quotation."""
    entries: list[str | QuoteRun] = []
    notes: list[str] = []
    index = 0
    while index < len(blocks):
        block = blocks[index]
        if block.kind is Kind.QUOTE:
            run, index = _blockquote(blocks, index)
            entries.append(run)
        elif opens_quote(block.text):
            found, after = _text_quote(blocks, index)
            if found is None:
                entries.append(block.text)
                index += 1
            else:
                entries.append(found)
                index = after
        else:
            entries.append(block.text)
            index += 1
    return _sorted(entries, notes)


def _sorted(entries: list[str | QuoteRun], notes: list[str]) -> ItemParts:
    runs = [entry for entry in entries if isinstance(entry, QuoteRun)]
    quote = runs[0] if runs else None
    summary: list[str] = []
    for entry in entries:
        if isinstance(entry, str):
            summary.append(entry)
        elif entry is not quote:
            summary.extend(entry.written)
    if len(runs) > 1:
        notes.append(
            f"{len(runs)} quotations; the format holds one: the first is the quote, "
            "the others are kept in the summary as written"
        )
    if quote is not None and not summary:
        notes.append("no summary paragraph: the quotation is kept as the summary, as written")
        return ItemParts(quote.written, None, tuple(notes))
    if quote is not None and not quote.closed:
        notes.append(
            "a quotation opens but its closing mark never comes: taken to the end of "
            "the item, without attribution"
        )
    elif quote is not None and quote.cite is None:
        notes.append("quotation without attribution (“…,” reads the article)")
    return ItemParts(tuple(summary), quote, tuple(notes))
