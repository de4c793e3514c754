"""Finding the outlet (and the date, and the author) in an item's first paragraph.

The phrasings of the published digests, most specific first (the first two are by far
the commonest):

1. "Euractiv published an article on Sept. 11 about …" (also released, ran, posted;
   an article, interview, opinion article, report …; "China Daily, a leading …
   newspaper, published …"; "Portugal’s Diário de Notícias newspaper released …")
2. "In an article published by X on …"
3. "According to an article by X …"; "… as reported by X on …"; "An article in X on …"
4. "… reported Euronews on Sept. 10." (also wrote)
5. "… X reported on Feb. 5" / "…, China Daily reported." / "X wrote on April 17 …"
6. "… according to China’s State Council."
7. "… in an April 17 interview with Eurasia Review."

An outlet is a name: one to eight words, each capitalised (or a number), joined only by
small words (of, de, the, and …). Anything else is not taken: the item is flagged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from newsletter.importer.dates import Mention, mentions

_CONNECTORS = frozenset(
    {"of", "de", "du", "des", "la", "le", "el", "al", "and", "&", "der", "di", "del", "da"}
    | {"do", "dos", "das", "y", "the", "for"}
)
# Words that describe an outlet rather than name it ("Portugal’s X newspaper").
_DESCRIPTORS = frozenset(
    {"newspaper", "magazine", "daily", "weekly", "outlet", "website", "portal", "agency"}
    | {"broadcaster", "channel", "journal", "site", "publication", "blog", "tabloid"}
    | {"news", "paper", "network", "platform", "media", "service"}
)
_SKIPPED_BEFORE_VERB = frozenset(
    {"also", "recently", "has", "have", "had", "just", "then", "later", "earlier", "again"}
)
_NOT_NAMES = frozenset(
    {"he", "she", "it", "they", "we", "i", "you", "this", "that", "these", "those", "its"}
    | {"his", "her", "their", "our", "monday", "tuesday", "wednesday", "thursday", "friday"}
    | {"saturday", "sunday", "today", "yesterday", "there", "here", "in", "on", "at"}
)
_TITLES = frozenset(
    {"president", "prime", "minister", "ambassador", "deputy", "foreign", "dr", "dr."}
    | {"prof", "prof.", "professor", "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "sir"}
    | {"senator", "chairman", "secretary", "general", "vice", "premier", "former"}
)
_TRAILING = ',.;:!?)”’"»'
_MAX_WORDS = 8
_MAX_CHARS = 80

_NOUN = (
    r"(?:(?:opinion|analytical|new|exclusive|feature|long|short|special|in-depth)\s+)?"
    r"(?:article|interview|op-ed|opinion piece|piece|report|story|column|editorial"
    r"|analysis|commentary|feature)"
)
_PUBLISHED = re.compile(
    rf"\b(?:published|released|ran|posted|carried|featured)\s+(?:an?\s+)?{_NOUN}\b"
)
_PUBLISHED_BY = re.compile(rf"\b{_NOUN}\s+(?:published|released|posted|written)\s+(?:by|in)\s+")
_ACCORDING_TO_ARTICLE = re.compile(
    rf"\b[Aa]ccording\s+to\s+an?\s+{_NOUN}\s+(?:published\s+)?(?:by|in|from)\s+"
)
_REPORTED_BY = re.compile(r"\b(?:reported|published|released|written)\s+by\s+")
_ARTICLE_IN = re.compile(rf"\b{_NOUN}\s+in\s+")
_VERB_THEN_NAME = re.compile(r"\b(?:reported|wrote|writes|reports)\s+(?=[^\W\d_])")
_NAME_THEN_VERB = re.compile(r"\b(?:reported|wrote|writes|reports|noted|informed)\b")
_ACCORDING_TO = re.compile(r"\b[Aa]ccording\s+to\s+")
_INTERVIEW_WITH = re.compile(r"\binterview\s+with\s+")
_ON_DATE = re.compile(r"\A,?\s+on\s+")
_SENTENCE_END = re.compile(r"[.!?][”’\"]?\s+(?=[“\"‘]?[A-Z])")


@dataclass(frozen=True)
class Found:
    """The outlet of an item, the date written beside it (None when the phrasing had
    none), and the author where the phrasing names one ("published an article by X")."""

    outlet: str
    mention: Mention | None
    author: str | None = None


def _core(token: str) -> str:
    return token.rstrip(_TRAILING)


def _is_name_word(word: str) -> bool:
    return bool(word) and (word[0].isupper() or word[0].isdigit())


def _forward_name(text: str) -> tuple[str, int]:
    """The name at the start of `text` and where it ends: capitalised words and small
    joining words, up to a word that is neither or one that ends a clause."""
    words: list[str] = []
    end = 0
    for match in re.finditer(r"\S+", text):
        token = match.group()
        core = _core(token)
        if not (_is_name_word(core) or (core.lower() in _CONNECTORS and core == core.lower())):
            break
        if core.lower() in _NOT_NAMES and not words:
            break
        words.append(core)
        end = match.start() + len(core)
        if core != token:  # a comma, a full stop, a closing quote: the name ends here
            break
    while words and words[-1] in _CONNECTORS:
        words.pop()
    while words and words[0] in _CONNECTORS:
        words.pop(0)
    return " ".join(words), end


def _backward_name(before: str) -> tuple[str, bool]:
    """The name just before a verb: capitalised words and joining words read backwards,
    skipping an adverb ("also") and a describing noun ("newspaper"). Also whether a
    describing noun was skipped (then a leading "Portugal’s" is a description too)."""
    tokens = before[-_MAX_CHARS * 3 :].split()  # a name is short: no need to read further back
    described = False
    while tokens and tokens[-1] in _SKIPPED_BEFORE_VERB:
        tokens.pop()
    while tokens and tokens[-1].lower() in _DESCRIPTORS and tokens[-1].islower():
        tokens.pop()
        described = True
    words: list[str] = []
    for token in reversed(tokens):
        if token != _core(token):
            break  # "forum, Crypto Rank reported": the comma ends the name
        if not (_is_name_word(token) or token in _CONNECTORS):
            break
        words.insert(0, token)
    while words and words[0] in _CONNECTORS:
        words.pop(0)
    if described and len(words) > 1 and words[0].endswith(("’s", "'s")):
        words.pop(0)
    return " ".join(words), described


def _sentence_start(text: str, position: int) -> int:
    starts = [m.end() for m in _SENTENCE_END.finditer(text, 0, position)]
    return starts[-1] if starts else 0


def _valid(name: str) -> bool:
    words = name.split()
    return (
        0 < len(words) <= _MAX_WORDS
        and len(name) <= _MAX_CHARS
        and words[0].lower() not in _NOT_NAMES
        and _is_name_word(words[0])
        and not any(c in name for c in '“”"«»()')
    )


def _date_after(text: str, position: int) -> Mention | None:
    """The date written right after a name: ' on Sept. 10'."""
    tail = text[position:]
    lead = _ON_DATE.match(tail)
    found = mentions(tail) if lead else []
    return found[0] if lead and found and found[0].start == lead.end() else None


def _subject(text: str, verb_start: int) -> str:
    """The outlet named as the subject of the verb at `verb_start`: the words just before
    it, or, when an aside sits between ("China Daily, a leading … newspaper, published"),
    the words that open the sentence, up to that aside's comma."""
    name, _ = _backward_name(text[:verb_start])
    if _valid(name):
        return name
    start = _sentence_start(text, verb_start)
    name, end = _forward_name(text[start:verb_start])
    if _valid(name) and text[start + end : start + end + 1] == ",":
        return name
    return ""


def _author(text: str, match: re.Match[str]) -> str | None:
    """ "published an article [on DATE] by [President] Kassym-Jomart Tokayev …", or by a
    description and then the name: "by Kazakhstan’s Ambassador to the EU, Roman Vassilenko,"."""
    after = text[match.end() :]
    lead = re.match(r"\s+(?:on\s+[^,]*?\d{1,2}\s+)?by\s+", after)
    if lead is None:
        return None
    rest = after[lead.end() :]
    words = _forward_name(rest)[0].split()
    while words and words[0].lower() in _TITLES:
        words.pop(0)
    if 2 <= len(words) <= 4 and not any(w.endswith(("’s", "'s")) or w.islower() for w in words):
        return " ".join(words)
    aside = re.match(r"[^,.]{1,80},\s+", rest)  # "by <description>, <Name>,"
    if aside is None:
        return None
    name, end = _forward_name(rest[aside.end() :])
    words = name.split()
    follows = rest[aside.end() + end : aside.end() + end + 1]
    if 2 <= len(words) <= 4 and follows == "," and not any(w.islower() for w in words):
        return name
    return None


def _published(text: str) -> Found | None:
    for match in _PUBLISHED.finditer(text):
        name = _subject(text, match.start())
        if name:
            end = len(text)
            if (sentence := _SENTENCE_END.search(text, match.end())) is not None:
                end = sentence.start()
            after = mentions(text[match.end() : end])
            mention = after[0] if after else None
            return Found(name, mention, _author(text, match))
    return None


def _name_after(pattern: re.Pattern[str], text: str) -> Found | None:
    for match in pattern.finditer(text):
        name, end = _forward_name(text[match.end() :])
        if _valid(name):
            return Found(name, _date_after(text, match.end() + end))
    return None


def _name_before(text: str) -> Found | None:
    for match in _NAME_THEN_VERB.finditer(text):
        name, _ = _backward_name(text[: match.start()])
        if _valid(name):
            return Found(name, _date_after(text, match.end()))
    return None


def find_outlet(paragraph: str) -> Found | None:
    """The outlet named in an item's first paragraph, with the date beside it when the
    phrasing puts one there; None when no phrasing above names one."""
    return (
        _published(paragraph)
        or _name_after(_PUBLISHED_BY, paragraph)
        or _name_after(_ACCORDING_TO_ARTICLE, paragraph)
        or _name_after(_REPORTED_BY, paragraph)
        or _name_after(_ARTICLE_IN, paragraph)
        or _name_after(_VERB_THEN_NAME, paragraph)
        or _name_before(paragraph)
        or _name_after(_ACCORDING_TO, paragraph)
        or _name_after(_INTERVIEW_WITH, paragraph)
    )
