"""Reading a subscriber CSV as a stream of rows, each good or rejected with a reason.

The file is read line by line and never held whole: a million-row list costs
the same memory as a ten-row one. Bytes are decoded one physical line at a
time, so a non-UTF-8 byte is reported with its exact line. Problems with the
file as a whole (missing, not UTF-8, not CSV, no ``email`` column) raise
SubscriberFileError; problems with one row become a Rejection and the rows after
it carry on.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from newsletter.addresses import InvalidAddressError, deliverable_email
from newsletter.errors import SubscriberFileError
from newsletter.names import check_name
from newsletter.wording import plural

EMAIL = "email"
NAME = "name"
# Names end up in email headers: a line break there would be a header injection.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_HEADER_HINT = "the first row must name the columns, for example: email,name"
# OWASP's CSV-injection rule: a spreadsheet evaluates a cell that begins with one of
# these, so an exported cell that does gets a leading apostrophe (which spreadsheets
# read as "text") - and so does one that already begins with apostrophes followed by
# one, so that reading strips exactly one apostrophe and never changes a real value.
# https://owasp.org/www-community/attacks/CSV_Injection
FORMULA_TRIGGERS = "=+-@\t\r"
_NEUTRALISED = re.compile(f"^'+[{re.escape(FORMULA_TRIGGERS)}]")
_TO_NEUTRALISE = re.compile(f"^'*[{re.escape(FORMULA_TRIGGERS)}]")
_FIRST_OF_NEUTRALISED = tuple("'" + FORMULA_TRIGGERS)


@dataclass(frozen=True)
class Rejection:
    """A CSV row that was not imported: its physical line in the file and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class CsvRow(NamedTuple):
    """A good row: the normalised address, the name and the other columns (None if empty).

    A NamedTuple rather than a dataclass: a million of them are made per import."""

    line: int
    email: str
    name: str | None
    attributes: dict[str, str] | None


Entry = CsvRow | Rejection


@dataclass(frozen=True)
class Columns:
    """Where the email and name are, and the attribute key of every other column."""

    count: int
    email: int
    name: int | None
    attributes: tuple[tuple[int, str], ...]


RawRow = tuple[int, list[str]]  # (physical line where the row starts, its cells)


class SubscriberCsv:
    """An open subscriber CSV: its header's columns (read at once), then its rows."""

    def __init__(self, lines: Iterable[bytes], source: str) -> None:
        self.source = source
        self._reader = csv.reader(_decoded(lines, source), strict=True)
        with self._csv_errors():
            self.columns = _read_header(self._reader, source)

    def raw_rows(self) -> Iterator[RawRow]:
        """The non-blank rows after the header, not yet checked."""
        with self._csv_errors():
            yield from _raw_rows(self._reader)

    def entries(self) -> Iterator[Entry]:
        """Every row after the header, checked: a CsvRow or a Rejection."""
        columns = self.columns
        return (to_entry(line, cells, columns) for line, cells in self.raw_rows())

    @contextmanager
    def _csv_errors(self) -> Iterator[None]:
        try:
            yield
        except csv.Error as err:
            raise SubscriberFileError(
                f"{self.source}: not a valid CSV file (line {self._reader.line_num}: {err})",
                hint="save the list as 'CSV UTF-8 (comma delimited)'",
            ) from err


@contextmanager
def open_subscriber_csv(path: Path) -> Iterator[SubscriberCsv]:
    """The CSV file at `path`, open; SubscriberFileError if it cannot be read or lacks a header."""
    try:
        handle = path.open("rb")
    except FileNotFoundError as err:
        raise SubscriberFileError(f"{path}: file not found") from err
    except OSError as err:
        raise SubscriberFileError(f"{path}: cannot read ({err.strerror or err})") from err
    with handle:
        yield SubscriberCsv(handle, str(path))


def read_subscriber_csv(path: Path) -> Iterator[Entry]:
    """Every row of the CSV file at `path`, in file order."""
    with open_subscriber_csv(path) as opened:
        yield from opened.entries()


def parse_subscriber_csv(lines: Iterable[bytes], source: str) -> Iterator[Entry]:
    """The rows of CSV bytes, given as physical lines; `source` names it in errors."""
    yield from SubscriberCsv(lines, source).entries()


def _decoded(lines: Iterable[bytes], source: str) -> Iterator[str]:
    for number, raw in enumerate(lines, start=1):
        if number == 1:
            _reject_utf16(raw, source)
            raw = raw.removeprefix(codecs.BOM_UTF8)
        if b"\x00" in raw:  # text never holds NUL: a binary file (spreadsheet, zip, image)
            raise SubscriberFileError(
                f"{source}: not a CSV text file (line {number} holds a NUL byte)",
                hint="export the list from the spreadsheet as 'CSV UTF-8 (comma delimited)'",
            )
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise SubscriberFileError(
                f"{source}: not UTF-8 text (line {number}, byte {err.start + 1} "
                f"is {raw[err.start : err.start + 1]!r})",
                hint="save the list as 'CSV UTF-8 (comma delimited)'",
            ) from err


def _reject_utf16(first: bytes, source: str) -> None:
    if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SubscriberFileError(
            f"{source}: the file is UTF-16, not UTF-8",
            hint="save the list as 'CSV UTF-8 (comma delimited)'",
        )


def _read_header(reader: Iterator[list[str]], source: str) -> Columns:
    header = next((row for row in reader if any(cell.strip() for cell in row)), None)
    if header is None:
        raise SubscriberFileError(f"{source}: the file is empty", hint=_HEADER_HINT)
    names = [unneutralise_cell(cell.strip()).lower() for cell in header]
    _check_names(names, source)
    if EMAIL not in names:
        looks_like_data = any("@" in name for name in names)
        raise SubscriberFileError(
            f"{source}: the header has no 'email' column (found: {', '.join(names)})",
            hint="add a header row, for example: email,name" if looks_like_data else _HEADER_HINT,
        )
    return Columns(
        count=len(names),
        email=names.index(EMAIL),
        name=names.index(NAME) if NAME in names else None,
        attributes=tuple((i, n) for i, n in enumerate(names) if n not in {EMAIL, NAME}),
    )


def _check_names(names: list[str], source: str) -> None:
    for position, name in enumerate(names, start=1):
        if not name:
            raise SubscriberFileError(
                f"{source}: column {position} has no name in the header",
                hint="name every column, or delete the empty one",
            )
        control = _CONTROL.search(name)
        if control:
            # A column name becomes an attribute key, printed by `show` and written by
            # `export`: it must be plain text like every value.
            raise SubscriberFileError(
                f"{source}: column {position}'s name contains a control character "
                f"(U+{ord(control.group()):04X}); expected one line of plain text"
            )
        if names.index(name) != position - 1:
            raise SubscriberFileError(
                f"{source}: the header names the column {name!r} twice "
                "(names are compared without case)"
            )


def _raw_rows(reader: Any) -> Iterator[RawRow]:
    # `line_num` counts physical lines read so far, so a row that spans lines
    # (a quoted newline) is reported at the line where it starts.
    line = reader.line_num
    for cells in reader:
        start, line = line + 1, reader.line_num
        joined = "".join(cells)
        if joined and not joined.isspace():  # blank lines and lines of bare commas are skipped
            yield start, cells


def to_entry(line: int, row: list[str], columns: Columns) -> Entry:
    """One row checked: a CsvRow with the normalised address, or a Rejection saying why."""
    if len(row) != columns.count:
        return Rejection(
            line,
            f"{plural(len(row), 'field')} where the header has {columns.count} "
            "(put values that contain commas in double quotes)",
        )
    joined = "".join(row)
    # isprintable() is a fast, stricter first test; the regex decides.
    if not joined.isprintable() and _CONTROL.search(joined):
        return _control_rejection(row, line, columns)
    # Most rows hold no apostrophe at all: then no cell can carry a neutralising quote.
    cell = unneutralise_cell if "'" in joined else str
    raw_email = cell(row[columns.email].strip())
    try:
        email = deliverable_email(raw_email)
    except InvalidAddressError as err:
        return Rejection(line, f"invalid address {_snippet(raw_email.strip())}: {err}")
    name = cell(row[columns.name].strip()) if columns.name is not None else None
    if name:
        try:
            check_name(name)
        except ValueError as err:
            return Rejection(line, str(err))
    attributes = {key: value for i, key in columns.attributes if (value := cell(row[i].strip()))}
    return CsvRow(line, email, name or None, attributes or None)


def _control_rejection(row: list[str], line: int, columns: Columns) -> Rejection:
    names = dict(columns.attributes)
    names[columns.email] = EMAIL
    if columns.name is not None:
        names[columns.name] = NAME
    for i, value in enumerate(row):
        # The cell as it is, not trimmed: a tab or U+0085 at either end is white space to
        # str.strip() but still a control character in the row.
        control = _CONTROL.search(value)
        if control:
            return Rejection(line, _control_reason(names[i], control.group()))
    raise AssertionError("unreachable: the row has a control character")  # pragma: no cover


def _control_reason(column: str, char: str) -> str:
    return (
        f"{column}: contains a control character (U+{ord(char):04X}); "
        "expected one line of plain text"
    )


def _snippet(value: str, limit: int = 60) -> str:
    # Like newsletter.validation.snippet, which would pull pydantic into the reader process.
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def neutralise_cell(value: str) -> str:
    """A cell as export writes it: one more leading ' if a spreadsheet would evaluate it.

    ``=1+1`` becomes ``'=1+1``; ``'=x`` (a value that really starts with ') becomes
    ``''=x``; every other value is written as it is. `unneutralise_cell` inverts it."""
    if value[:1] in _FIRST_OF_NEUTRALISED and _TO_NEUTRALISE.match(value):
        return "'" + value
    return value


def unneutralise_cell(cell: str) -> str:
    """A cell as import reads it: one leading ' dropped before apostrophes and a formula
    character (as `neutralise_cell` or a spreadsheet's text prefix wrote it)."""
    # startswith first: a million-row import calls this for every cell.
    return cell[1:] if cell.startswith("'") and _NEUTRALISED.match(cell) else cell


def clean_attribute_key(key: str) -> str:
    """An attribute's key as stored: trimmed and lower-cased, as an import's header names
    are; ValueError if it is empty, holds a control character, or is `email` or `name`
    (the export's own columns: a second one would make the file unreadable to import)."""
    text = key.strip().lower()
    if not text:
        raise ValueError("an attribute needs a name")
    if text in {EMAIL, NAME}:
        raise ValueError(
            f"{text!r} is a column of its own, not an attribute; expected another name"
        )
    match = _CONTROL.search(text)
    if match:
        raise ValueError(
            f"attribute name: contains a control character (U+{ord(match.group()):04X}); "
            "expected one line of plain text"
        )
    return text


def clean_text(value: str, column: str) -> str:
    """A name or attribute value, trimmed; ValueError if it holds a control character."""
    text = value.strip()
    match = _CONTROL.search(text)
    if match:
        raise ValueError(_control_reason(column, match.group()))
    return text
