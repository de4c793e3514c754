"""Short lines in the bodies: no line over 998 octets, rendering unchanged.

RFC 5322 §2.1.1 caps a line at 998 octets, and SendGrid's guidance for HTML
content is the same ("HTML formatting issues": no line over 998 continuous
characters; mail servers break longer lines wherever they like, which can land
inside a tag or a URL). MJML and premailer write most of the email on a few
lines of 6,000 to 40,000 characters, so the rendered HTML is broken here, once,
for every transport.

HTML lines are broken only where that cannot change what a browser shows, in
this order of preference:

- inside a start tag, between its attributes (never inside a quoted value):
  the white space becomes a line feed;
- in text, at a space, outside ``<pre>``, ``<textarea>``, ``<script>`` and
  ``<style>`` (white space collapses there, so a line feed is a space); inside
  ``<title>`` too, whose white space browsers collapse as well;
- in text without white space (Chinese, Japanese, Thai, long numbers), by
  inserting the empty comment ``<!--\\n-->``, which holds the line feed and
  renders as nothing. Not in the elements above nor in ``<title>`` (whose text
  is not parsed for comments), never inside a character reference (``&amp;``)
  or a UTF-8 sequence, and never inside a grapheme cluster (a base character
  and its combining marks, variation selectors, emoji modifiers, ZWJ sequences,
  flag pairs, Hangul jamo);
- never inside comments' text (Outlook's conditional comments), only between
  the attributes of the tags they hold.

Quoted attribute values (URLs, ``alt``) and the ``<title>`` text cannot be
broken at all: the digest format caps them (`newsletter.validation.
MAX_UNBREAKABLE_OCTETS`) so that their lines fit.

The plain-text part is broken at spaces; a run of more than 998 octets without
one is broken hard, between two grapheme clusters.

The work is done on UTF-8 bytes, so lengths are octets: UTF-8 never uses an
ASCII byte inside a multi-byte character. Lines are kept to `BREAK_AT` octets,
under the 998 limit by enough to leave room for the longest unsubscribe URL a
provider substitutes for its placeholder.
"""

from __future__ import annotations

import bisect
import html as html_lib
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

MAX_CONTENT_LINE = 998  # RFC 5322 §2.1.1; SendGrid's guidance for content
BREAK_AT = 800  # leaves room for a substituted unsubscribe URL (at most ~190 octets more)
HTML_BREAK = b"<!--\n-->"  # an empty comment holding a line feed: renders as nothing

_TAG = rb"<[A-Za-z/!?][^>\"']*(?:(?:\"[^\"]*\"|'[^']*')[^>\"']*)*>"
_RAW = rb"pre|textarea|script|style|xmp|plaintext|iframe|noembed|noframes|noscript"
_TOKENS = re.compile(
    rb"(?P<comment><!--.*?-->)"
    rb"|(?P<raw><(?P<name>" + _RAW + rb")\b.*?</(?P=name)\s*>)"
    rb"|(?P<title><title\b[^>]*>(?P<title_text>.*?)</title\s*>)"
    rb"|(?P<tag>" + _TAG + rb")"
    rb"|(?P<text>[^<]+|<)",
    re.DOTALL | re.IGNORECASE,
)
_TAG_SPACE = re.compile(rb"\"[^\"]*\"|'[^']*'|(?P<space>[ \t\r\n\f])")
_TEXT_SPACE = re.compile(rb"[ \t\f]")
_LEADING_SPACE = re.compile(rb"[ \t\f]+")
_INNER_TAG = re.compile(_TAG, re.DOTALL)
# A character reference ending right at a position (HTML §13.2.5.72): never split.
_REF_END = re.compile(rb"&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);?\Z")
_REF_START = re.compile(rb"&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);?")
_REF_TAIL = re.compile(rb"&[#xX0-9A-Za-z]*\Z")

_ZWJ = "\u200d"
# Grapheme_Cluster_Break values that attach to the character before (UAX #29 GB9,
# GB9a) beyond the general categories Mn, Me and Mc.
_EXTENDERS = frozenset("\u200c\u200d\u0e33\u0eb3")


def longest_line(text: str) -> int:
    """The longest line of `text` in UTF-8 octets (without its line break)."""
    return max(len(line.encode("utf-8")) for line in text.split("\n"))


def _extends(char: str) -> bool:
    """True if `char` belongs to the grapheme cluster of the character before it."""
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or char in _EXTENDERS
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # emoji tag sequences (subdivision flags)
    )


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _jamo(char: str) -> str:
    """Hangul syllable type (UAX #29): L, V, T, LV/LVT syllables as 'S', else ''."""
    code = ord(char)
    if 0x1100 <= code <= 0x115F or 0xA960 <= code <= 0xA97F:
        return "L"
    if 0x1160 <= code <= 0x11A7 or 0xD7B0 <= code <= 0xD7C6:
        return "V"
    if 0x11A8 <= code <= 0x11FF or 0xD7CB <= code <= 0xD7FF:
        return "T"
    if 0xAC00 <= code <= 0xD7A3:
        return "S"
    return ""


def _grapheme_boundary(before: str, after: str, regionals_before: int) -> bool:
    """May a cluster end between `before` and `after`? (UAX #29, simplified: GB6-GB12.)
    `regionals_before` counts the regional indicators ending at `before`."""
    if _extends(after) or before == _ZWJ:
        return False
    if _regional(before) and _regional(after):
        return regionals_before % 2 == 0  # flags are pairs
    pair = _jamo(before) + _jamo(after)
    return pair not in ("LL", "LV", "LS", "VV", "VT", "TT", "SV", "ST")


def _char_start(data: bytes, position: int) -> int:
    """The start of the UTF-8 sequence holding byte `position`."""
    while position > 0 and 0x80 <= data[position] < 0xC0:
        position -= 1
    return position


def _decode_at(data: bytes, position: int, refs: bool) -> tuple[str, int]:
    """The character starting at `position` and its length in octets; with `refs`, a
    character reference counts as the character it stands for."""
    if refs and data[position : position + 1] == b"&":
        match = _REF_START.match(data, position)
        if match:
            return html_lib.unescape(match.group().decode("ascii"))[
                :1
            ] or "&", match.end() - position
    end = position + 1
    while end < len(data) and 0x80 <= data[end] < 0xC0:
        end += 1
    return data[position:end].decode("utf-8", "replace"), end - position


def _decode_before(data: bytes, position: int, lo: int, refs: bool) -> tuple[str, int]:
    """The character ending at `position` (not before `lo`) and where it starts."""
    if refs:
        match = _REF_END.search(data[max(lo, position - 40) : position])
        if match:
            start = position - (match.end() - match.start())
            return _decode_at(data, start, refs)[0], start
    start = _char_start(data, position - 1)
    return data[start:position].decode("utf-8", "replace"), start


def _is_hard_point(data: bytes, position: int, lo: int, refs: bool) -> bool:
    """May a line break be inserted before byte `position`, with `lo` the start of the run?"""
    if not lo < position < len(data) or 0x80 <= data[position] < 0xC0:
        return False
    if refs and _REF_TAIL.search(data[max(lo, position - 40) : position]):
        return False  # inside a character reference (or right after one without ';')
    after, _ = _decode_at(data, position, refs)
    before, start = _decode_before(data, position, lo, refs)
    if not before or after in "\r\n" or before in "\r\n":
        return False
    regionals = 0
    cursor, char = start, before
    while _regional(char) and cursor > lo:
        regionals += 1
        char, cursor = _decode_before(data, cursor, lo, refs)
    if _regional(char) and cursor == lo:
        regionals += 1
    return _grapheme_boundary(before, after, regionals if _regional(before) else 0)


@dataclass
class _Runs:
    """Where breaks may be inserted: spans of `data` (start, end) and their hard points."""

    data: bytes
    spans: list[tuple[int, int]]
    refs: bool  # HTML text: character references are single characters
    _starts: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self._starts = [start for start, _ in self.spans]

    def last(self, lo: int, hi: int) -> int | None:
        """The last hard point p with lo < p <= hi."""
        index = bisect.bisect_right(self._starts, hi) - 1
        while index >= 0:
            start, end = self.spans[index]
            if end <= lo:
                return None
            floor = max(start, lo)
            for position in range(min(hi, end - 1), floor, -1):
                if _is_hard_point(self.data, position, start, self.refs):
                    return position
            index -= 1
        return None

    def first(self, lo: int, end_at: int) -> int | None:
        """The first hard point p with lo < p < end_at."""
        index = max(bisect.bisect_right(self._starts, lo) - 1, 0)
        for start, end in self.spans[index:]:
            if start >= end_at:
                return None
            for position in range(max(start, lo) + 1, min(end, end_at)):
                if _is_hard_point(self.data, position, start, self.refs):
                    return position
        return None


def _tag_spaces(data: bytes, start: int, end: int) -> list[int]:
    """The white space between the attributes of the tag data[start:end]."""
    return [match.start() for match in _TAG_SPACE.finditer(data, start, end) if match.lastindex]


def _is_start_tag(data: bytes, start: int) -> bool:
    return data[start + 1 : start + 2].isalpha()


def _token_opportunities(data: bytes, token: re.Match[bytes]) -> Iterator[tuple[int, bool]]:
    """(byte offset, inside a tag) of the white space in one token (`_TOKENS`) that may
    become a line feed, in order."""
    kind = token.lastgroup
    if kind == "tag" and _is_start_tag(data, token.start()):
        yield from ((p, True) for p in _tag_spaces(data, token.start(), token.end()))
    elif kind == "text":
        yield from ((m.start(), False) for m in _TEXT_SPACE.finditer(data, *token.span()))
    elif kind == "title":
        title = token.span("title_text")
        yield from ((m.start(), False) for m in _TEXT_SPACE.finditer(data, *title))
    elif kind == "comment":
        for tag in _INNER_TAG.finditer(data, token.start() + 4, token.end() - 3):
            if _is_start_tag(data, tag.start()):
                yield from ((p, True) for p in _tag_spaces(data, tag.start(), tag.end()))


def _opportunities(data: bytes, texts: list[tuple[int, int]]) -> Iterator[tuple[int, bool]]:
    """(byte offset, inside a tag) of white space that may become a line feed, in order;
    the spans of text where an invisible break may be inserted are appended to `texts`."""
    for token in _TOKENS.finditer(data):
        if token.lastgroup == "text":
            texts.append(token.span())
        yield from _token_opportunities(data, token)


@dataclass(frozen=True)
class _Break:
    position: int
    insert: bool  # True: insert the break before `position`; False: replace the byte there


def _soft(candidates: list[tuple[int, bool]], lo: int, hi: int) -> int | None:
    """The last white space after `lo` up to `hi`, one inside a tag first (text keeps
    its words together when it can)."""
    first = bisect.bisect_right(candidates, (lo, True))
    last = bisect.bisect_right(candidates, (hi, True))
    window = candidates[first:last]
    for position, in_tag in reversed(window):
        if in_tag:
            return position
    return window[-1][0] if window else None


def _next_soft(candidates: list[tuple[int, bool]], hi: int, end: int) -> int | None:
    index = bisect.bisect_right(candidates, (hi, True))
    if index < len(candidates) and candidates[index][0] < end:
        return candidates[index][0]
    return None


Picker = Callable[[int, int, int, int], _Break | None]


def _breaks(data: bytes, limit: int, pick: Picker, inserted: bytes) -> Iterator[_Break]:
    """Greedy: each line longer than `limit` is broken where `pick` says. `carry`
    counts the octets an inserted break puts at the start of the next line."""
    start, carry = 0, 0
    head = len(inserted) - inserted.index(b"\n") - 1
    tail = inserted.index(b"\n")
    for newline in [m.start() for m in re.finditer(rb"\n", data)] + [len(data)]:
        while carry + newline - start > limit:
            chosen = pick(start, start + limit - carry, newline, tail)
            if chosen is None:
                break  # no safe point left on this line
            yield chosen
            start, carry = (chosen.position, head) if chosen.insert else (chosen.position + 1, 0)
        start, carry = newline + 1, 0


def _apply(data: bytes, breaks: Iterator[_Break], inserted: bytes) -> bytes:
    out = bytearray()
    done = 0
    for chosen in breaks:
        out += data[done : chosen.position]
        if chosen.insert:
            out += inserted
            done = chosen.position
        else:
            out += b"\n"
            done = chosen.position + 1
    out += data[done:]
    return bytes(out)


class _Soft:
    """The white space of `data` that may become a line feed (what `_opportunities`
    lists), worked out only in the tokens the breaks look at.

    The document is tokenized once (in C, by `_TOKENS`); a token's white space is looked
    for only when a break's window reaches it, from the window's end backwards. A 48 KB
    email needs about 60 breaks but has about 1,800 candidates, and almost all of the
    Python time went into listing them. The answers are those of `_soft` and
    `_next_soft` on the full list (the tests compare both paths)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.tokens = list(_TOKENS.finditer(data))  # contiguous: they cover every byte
        self.starts = [token.start() for token in self.tokens]
        self.texts = [token.span() for token in self.tokens if token.lastgroup == "text"]
        self._in_tags: dict[int, list[int]] = {}

    def _in_tag(self, index: int) -> list[int]:
        """The candidates inside the tags of token `index` (a start tag, or the tags a
        comment holds), in order."""
        found = self._in_tags.get(index)
        if found is None:
            data, (start, end) = self.data, self.tokens[index].span()
            if self.tokens[index].lastgroup == "tag":
                found = _tag_spaces(data, start, end) if _is_start_tag(data, start) else []
            else:  # a comment: the tags it holds (Outlook's conditional comments)
                found = [
                    position
                    for tag in _INNER_TAG.finditer(data, start + 4, end - 3)
                    if _is_start_tag(data, tag.start())
                    for position in _tag_spaces(data, tag.start(), tag.end())
                ]
            self._in_tags[index] = found
        return found

    def _last_text_space(self, index: int, lo: int, hi: int) -> int | None:
        """The last white space p with lo < p <= hi in the text of token `index`."""
        token = self.tokens[index]
        start, end = token.span("title_text" if token.lastgroup == "title" else 0)
        start, end = max(start, lo + 1), min(end, hi + 1)
        found = max(self.data.rfind(space, start, end) for space in (b" ", b"\t", b"\f"))
        return found if found >= 0 else None

    def last(self, lo: int, hi: int) -> int | None:
        """`_soft`: the last candidate p with lo < p <= hi, one inside a tag first."""
        fallback = None
        index = bisect.bisect_right(self.starts, hi) - 1
        while index >= 0 and self.tokens[index].end() > lo + 1:
            kind = self.tokens[index].lastgroup
            if kind in ("tag", "comment"):
                for position in reversed(self._in_tag(index)):
                    if position <= lo:
                        break
                    if position <= hi:
                        return position
            elif fallback is None and kind in ("text", "title"):
                fallback = self._last_text_space(index, lo, hi)
            index -= 1
        return fallback

    def next(self, hi: int, end: int) -> int | None:
        """`_next_soft`: the first candidate p with hi < p < end."""
        index = max(bisect.bisect_right(self.starts, hi) - 1, 0)
        while index < len(self.tokens) and self.starts[index] < end:
            for position, _ in _token_opportunities(self.data, self.tokens[index]):
                if position > hi:
                    return position if position < end else None
            index += 1
        return None


def break_html_lines(html: str, limit: int = BREAK_AT) -> str:
    """`html` with its long lines broken at safe points (see the module docstring).

    Only the lines longer than `limit` are worked on, and only where their breaks fall
    (`_Soft`); `_break_html_lines_full`, which lists every candidate first, gives the
    same bytes and is kept as the reference the tests compare against."""
    data = html.encode("utf-8")
    if len(data) <= limit or max(map(len, data.split(b"\n"))) <= limit:
        return html
    soft = _Soft(data)
    runs = _Runs(data, soft.texts, refs=True)

    def pick(lo: int, hi: int, end: int, tail: int) -> _Break | None:
        found = soft.last(lo, hi)
        if found is not None:
            return _Break(found, insert=False)
        hard = runs.last(lo, hi - tail)
        if hard is not None:
            return _Break(hard, insert=True)
        later = soft.next(hi, end)
        hard = runs.first(hi - tail, end if later is None else later)
        if hard is not None:
            return _Break(hard, insert=True)
        return None if later is None else _Break(later, insert=False)

    return _apply(data, _breaks(data, limit, pick, HTML_BREAK), HTML_BREAK).decode("utf-8")


def _break_html_lines_full(html: str, limit: int = BREAK_AT) -> str:
    """`break_html_lines` the first way: every candidate of the whole document listed
    before the first break. Slower, and simpler to check: the reference for the tests."""
    data = html.encode("utf-8")
    if len(data) <= limit or longest_line(html) <= limit:
        return html
    texts: list[tuple[int, int]] = []
    candidates = list(_opportunities(data, texts))
    runs = _Runs(data, texts, refs=True)

    def pick(lo: int, hi: int, end: int, tail: int) -> _Break | None:
        soft = _soft(candidates, lo, hi)
        if soft is not None:
            return _Break(soft, insert=False)
        hard = runs.last(lo, hi - tail)
        if hard is not None:
            return _Break(hard, insert=True)
        later = _next_soft(candidates, hi, end)
        hard = runs.first(hi - tail, end if later is None else later)
        if hard is not None:
            return _Break(hard, insert=True)
        return None if later is None else _Break(later, insert=False)

    return _apply(data, _breaks(data, limit, pick, HTML_BREAK), HTML_BREAK).decode("utf-8")


def break_text_lines(text: str, limit: int = BREAK_AT) -> str:
    """Plain `text` with lines over `limit` octets broken at spaces; a stretch that would
    still leave a line over `MAX_CONTENT_LINE` octets (text without spaces, such as
    Chinese or Thai) is broken hard between two grapheme clusters, so a URL of up to
    ~900 octets on its own line is kept whole."""
    if longest_line(text) <= limit:
        return text
    data = text.encode("utf-8")
    candidates = [(m.start(), False) for m in _TEXT_SPACE.finditer(data)]
    lines: list[tuple[int, int]] = []
    begin = 0
    for match in re.finditer(rb"\n|\Z", data):
        lines.append((begin, match.start()))
        begin = match.end()
    runs = _Runs(data, lines, refs=False)

    def pick(lo: int, hi: int, end: int, tail: int) -> _Break | None:
        indent = _LEADING_SPACE.match(data, lo, end)
        soft = _soft(candidates, indent.end() if indent else lo, hi)  # keep the indent
        if soft is not None:
            return _Break(soft, insert=False)
        later = _next_soft(candidates, max(hi, indent.end() if indent else lo), end)
        if (later if later is not None else end) - lo <= MAX_CONTENT_LINE:
            return None if later is None else _Break(later, insert=False)
        hard = runs.last(lo, hi - tail) or runs.first(hi - tail, end)
        if hard is not None:
            return _Break(hard, insert=True)
        return None if later is None else _Break(later, insert=False)

    return _apply(data, _breaks(data, limit, pick, b"\n"), b"\n").decode("utf-8")
