"""Short lines in the bodies: no line over 998 octets, rendering unchanged.

RFC 5322 §2.1.1 caps a line at 998 octets, and SendGrid's guidance for HTML
content is the same ("HTML formatting issues": no line over 998 continuous
characters; mail servers break longer lines wherever they like, which can land
inside a tag or a URL). MJML and premailer write most of the email on a few
lines of 6,000 to 40,000 characters, so the rendered HTML is broken here, once,
for every transport.

A line is broken only by turning one existing white-space character into a
line feed at a point where that cannot change what a browser shows:

- inside a start tag, between its attributes (never inside a quoted value);
- in text, at a space, outside ``<pre>``, ``<textarea>``, ``<script>`` and
  ``<style>`` (white space collapses there, so a line feed is a space);
- never inside comments' text (Outlook's conditional comments), only between
  the attributes of the tags they hold.

The work is done on UTF-8 bytes, so lengths are octets: UTF-8 never uses an
ASCII byte inside a multi-byte character. Lines are kept to `BREAK_AT` octets,
under the 998 limit by enough to leave room for the longest unsubscribe URL a
provider substitutes for its placeholder.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

MAX_CONTENT_LINE = 998  # RFC 5322 §2.1.1; SendGrid's guidance for content
BREAK_AT = 800  # leaves room for a substituted unsubscribe URL (at most ~190 octets more)

_TAG = rb"<[A-Za-z/!?][^>\"']*(?:(?:\"[^\"]*\"|'[^']*')[^>\"']*)*>"
_TOKENS = re.compile(
    rb"(?P<comment><!--.*?-->)"
    rb"|(?P<raw><(?P<name>pre|textarea|script|style)\b.*?</(?P=name)\s*>)"
    rb"|(?P<tag>" + _TAG + rb")"
    rb"|(?P<text>[^<]+|<)",
    re.DOTALL | re.IGNORECASE,
)
_TAG_SPACE = re.compile(rb"\"[^\"]*\"|'[^']*'|(?P<space>[ \t\r\n\f])")
_TEXT_SPACE = re.compile(rb"[ \t\f]")
_INNER_TAG = re.compile(_TAG, re.DOTALL)


def longest_line(text: str) -> int:
    """The longest line of `text` in UTF-8 octets (without its line break)."""
    return max(len(line.encode("utf-8")) for line in text.split("\n"))


def _tag_spaces(data: bytes, start: int, end: int) -> Iterator[int]:
    for match in _TAG_SPACE.finditer(data, start, end):
        if match.group("space") is not None:
            yield match.start()


def _is_start_tag(data: bytes, start: int) -> bool:
    return data[start + 1 : start + 2].isalpha()


def _opportunities(data: bytes) -> Iterator[tuple[int, bool]]:
    """(byte offset, inside a tag) of white space that may become a line feed, in order."""
    for token in _TOKENS.finditer(data):
        kind = token.lastgroup
        if kind == "tag" and _is_start_tag(data, token.start()):
            yield from ((p, True) for p in _tag_spaces(data, token.start(), token.end()))
        elif kind == "text":
            yield from ((m.start(), False) for m in _TEXT_SPACE.finditer(data, *token.span()))
        elif kind == "comment":
            for tag in _INNER_TAG.finditer(data, token.start() + 4, token.end() - 3):
                if _is_start_tag(data, tag.start()):
                    yield from ((p, True) for p in _tag_spaces(data, tag.start(), tag.end()))


def _pick(candidates: list[tuple[int, bool]], lo: int, hi: int, end: int) -> int | None:
    """The break for a line starting at `lo`: the last point inside a tag up to `hi`,
    else the last in text up to `hi` (text keeps its words together when it can), else
    the first point after `hi` before the line's `end`; None if there is none."""
    first = bisect.bisect_right(candidates, (lo, True))
    last = bisect.bisect_right(candidates, (hi, True))
    window = candidates[first:last]
    for position, in_tag in reversed(window):
        if in_tag:
            return position
    if window:
        return window[-1][0]
    if last < len(candidates) and candidates[last][0] < end:
        return candidates[last][0]
    return None


def _breaks(data: bytes, candidates: list[tuple[int, bool]], limit: int) -> Iterator[int]:
    """Greedy: each line longer than `limit` is broken at the best point `_pick` finds."""
    start = 0
    for newline in [m.start() for m in re.finditer(rb"\n", data)] + [len(data)]:
        while newline - start > limit:
            best = _pick(candidates, start, start + limit, newline)
            if best is None:
                break  # no safe point left on this line
            yield best
            start = best + 1
        start = newline + 1


def _apply(data: bytes, positions: Iterator[int]) -> bytes:
    out = bytearray(data)
    for position in positions:
        out[position] = 0x0A
    return bytes(out)


def break_html_lines(html: str, limit: int = BREAK_AT) -> str:
    """`html` with its long lines broken at safe points (see the module docstring)."""
    data = html.encode("utf-8")
    if len(data) <= limit or longest_line(html) <= limit:
        return html
    return _apply(data, _breaks(data, list(_opportunities(data)), limit)).decode("utf-8")


def break_text_lines(text: str, limit: int = BREAK_AT) -> str:
    """Plain `text` with lines over `limit` octets broken at spaces."""
    if longest_line(text) <= limit:
        return text
    data = text.encode("utf-8")
    candidates = [(m.start(), False) for m in _TEXT_SPACE.finditer(data)]
    return _apply(data, _breaks(data, candidates, limit)).decode("utf-8")
