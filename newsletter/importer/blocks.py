"""The published text as a list of blocks: one paragraph (or heading) each, whitespace
normalised, with what the markup said about it when there was markup.

Plain text has one paragraph per line (blank lines between paragraphs or not): each
non-blank line is a block. HTML is turned into blocks by `newsletter.importer.markup`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from newsletter.errors import ImportTextError


class Kind(StrEnum):
    """What the source said a block is: plain text says nothing (`LINE`); HTML says
    heading, title (`<h1>`), paragraph or quotation (`<blockquote>`)."""

    LINE = "line"
    TITLE = "title"
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    QUOTE = "quote"


@dataclass(frozen=True)
class Block:
    """One paragraph of the source: its text (whitespace normalised), its kind, and where
    it is (`line` of a plain text, else the block's number in the page)."""

    text: str
    kind: Kind
    line: int


# Every whitespace run but the non-breaking spaces (U+00A0, U+2007, U+202F) becomes one
# space: the house style sets those on purpose ("Sept. 11", "$1 billion"), they stay.
_SPACES = re.compile(r"[^\S\u00a0\u2007\u202f]+")
# What the digest format refuses as a control character (newsletter.validation), once
# the whitespace among them is gone; lone surrogates cannot be written as UTF-8.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ud800-\udfff]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_HTML_START = re.compile(
    r"\A\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|p|h[1-6]|div|blockquote|"
    r"article|section|main|header|br|span|ul|ol|figure|table|meta|title)\b",
    re.IGNORECASE | re.DOTALL,
)


def normalise(text: str, where: str) -> str:
    """`text` on one line: whitespace runs as one space, non-breaking spaces kept, ends
    trimmed. ImportTextError when a control character is left (`where` names the place)."""
    flat = _SPACES.sub(" ", text).strip(" ")
    bad = _CONTROL.search(flat)
    if bad:
        raise ImportTextError(
            f"{where}: control character U+{ord(bad.group()):04X}; expected plain text",
            hint="remove it from the text (it is not part of the article)",
        )
    return flat


def looks_like_html(text: str) -> bool:
    """True when the text starts as an HTML page or fragment does (a tag such as <p>,
    <h3>, <html> or a doctype, after comments): a plain text that merely mentions a tag
    further down stays plain text, its characters kept as written."""
    return bool(_HTML_START.match(text))


def text_blocks(text: str, source: str) -> list[Block]:
    """Each non-blank line of a plain text as a LINE block, numbered as an editor counts
    lines (CR, LF or CRLF end a line)."""
    blocks = []
    for number, raw in enumerate(_LINE_BREAK.split(text), start=1):
        line = normalise(raw, f"{source}: line {number}")
        if line:
            blocks.append(Block(line, Kind.LINE, number))
    return blocks
