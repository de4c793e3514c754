"""Dates as the publication writes them.

- The issue's date line: `26.04.2025` (day first, as on the site), `2025-04-26`, or
  `April 26, 2025`, alone on its line or in front of the intro (`date 2025-09-05 ASTANA –`).
- An article's date in a paragraph: `Sept. 11`, `Feb. 5`, `April 17`, `17 April`,
  `Aug. 30, 2025`; the month abbreviated with or without its period (AP style).
  Without a year it is the issue's year, unless that puts it well after the issue (a
  December article in a January issue): then the year before.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11,
    "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
# Longest spelling first, so "September" is not read as "Sep" + "tember".
_MONTH = "|".join(sorted((name.capitalize() for name in _MONTHS), key=len, reverse=True))
_MONTH_DAY = re.compile(
    rf"\b(?:(?P<month>{_MONTH})\.?\s+(?P<day>\d{{1,2}})(?!\d)(?:,\s*(?P<year>\d{{4}})\b)?"
    rf"|(?P<day2>\d{{1,2}})\s+(?P<month2>{_MONTH})\b\.?(?:\s+(?P<year2>\d{{4}})\b)?)"
)
_DATE_LINE = re.compile(
    r"\A(?:date:?\s+)?(?:(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})"
    r"|(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2})"
    rf"|(?P<month>{_MONTH})\.?\s+(?P<day>\d{{1,2}}),\s*(?P<year>\d{{4}}))(?=\s|\Z)",
    re.IGNORECASE,
)
# An article dated this long after the issue is from the year before (a December
# article in a January issue); a few days after is a typo to flag, not a year to move.
_NEXT_YEAR_MARGIN = dt.timedelta(days=60)


@dataclass(frozen=True)
class DateLine:
    """A date at the start of a line: the date (None when it names no real day), what
    was written, and the rest of the line after it."""

    date: dt.date | None
    written: str
    rest: str


@dataclass(frozen=True)
class Mention:
    """A month-and-day mention in a paragraph: where, as written, and its parts."""

    start: int
    end: int
    written: str
    month: int
    day: int
    year: int | None


def _day(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def date_line(text: str) -> DateLine | None:
    """The date a line starts with (`26.04.2025`, `2025-04-26`, `April 26, 2025`,
    optionally after `date`), or None when it starts with none."""
    match = _DATE_LINE.match(text)
    if match is None:
        return None
    if match["d"]:
        year, month, day = int(match["y"]), int(match["m"]), int(match["d"])
    elif match["iy"]:
        year, month, day = int(match["iy"]), int(match["im"]), int(match["id"])
    else:
        year, month, day = int(match["year"]), _MONTHS[match["month"].lower()], int(match["day"])
    rest = text[match.end() :].strip()
    return DateLine(_day(year, month, day), match.group().strip(), rest)


def mentions(text: str) -> list[Mention]:
    """Every month-and-day mention in `text`, in order."""
    found = []
    for match in _MONTH_DAY.finditer(text):
        month = match["month"] or match["month2"]
        day = match["day"] or match["day2"]
        year = match["year"] or match["year2"]
        found.append(
            Mention(
                match.start(),
                match.end(),
                match.group(),
                _MONTHS[month.lower()],
                int(day),
                int(year) if year else None,
            )
        )
    return found


def resolve(mention: Mention, issue: dt.date) -> dt.date | None:
    """The day `mention` names, in the issue's year unless it says its own, or in the
    year before when the issue's year puts it more than 60 days after the issue.
    None when no such day exists that year (`Feb. 30`; `Feb. 29` of 2025)."""
    if mention.year is not None:
        return _day(mention.year, mention.month, mention.day)
    candidate = _day(issue.year, mention.month, mention.day)
    if candidate is not None and candidate - issue > _NEXT_YEAR_MARGIN:
        return _day(issue.year - 1, mention.month, mention.day)
    return candidate
