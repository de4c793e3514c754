"""Reading subscriber CSVs: messy files, rejected rows with their lines, whole-file errors."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from newsletter.csvio.csvfile import (
    CsvRow,
    Entry,
    Rejection,
    parse_subscriber_csv,
    read_subscriber_csv,
)
from newsletter.errors import SubscriberFileError


def parse(text: str | bytes) -> list[Entry]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return list(parse_subscriber_csv(data.splitlines(keepends=True), "test.csv"))


def good(entries: list[Entry]) -> list[CsvRow]:
    return [e for e in entries if isinstance(e, CsvRow)]


def rejected(entries: list[Entry]) -> list[Rejection]:
    return [e for e in entries if isinstance(e, Rejection)]


def test_plain_file_gives_normalised_rows_with_lines() -> None:
    """A simple file yields trimmed, lower-cased addresses with names and line numbers."""
    entries = parse("email,name\n  Ann@Example.COM , Ann Smith \nbob@example.org,\n")
    assert entries == [
        CsvRow(2, "ann@example.com", "Ann Smith", None),
        CsvRow(3, "bob@example.org", None, None),
    ]


def test_bom_crlf_and_header_case_are_accepted() -> None:
    """A UTF-8 BOM, CRLF line ends and an upper-case header are all fine."""
    entries = parse(codecs.BOM_UTF8 + b"EMAIL,Name\r\nann@example.com,Ann\r\n")
    assert entries == [CsvRow(2, "ann@example.com", "Ann", None)]


def test_other_columns_become_attributes_and_empty_values_are_dropped() -> None:
    """Extra columns are kept as lower-cased attributes; empty cells are not stored."""
    entries = parse("Email,Country,City\nann@example.com,KZ,\nbob@example.org, ,Astana\n")
    assert entries == [
        CsvRow(2, "ann@example.com", None, {"country": "KZ"}),
        CsvRow(3, "bob@example.org", None, {"city": "Astana"}),
    ]


def test_blank_lines_and_bare_commas_are_skipped_without_shifting_line_numbers() -> None:
    """Empty lines are skipped, and later rows keep their physical line numbers."""
    entries = parse("\nemail,name\n\n,\nann@example.com,Ann\n   \nbad-address,X\n")
    assert good(entries) == [CsvRow(5, "ann@example.com", "Ann", None)]
    assert [r.line for r in rejected(entries)] == [7]


def test_quoted_commas_and_newlines_are_values_and_lines_count_physically() -> None:
    """Quoted commas stay in the value; a quoted newline makes the row span two lines."""
    entries = parse(
        'email,name,note\nann@example.com,"Smith, Ann",ok\n'
        'bob@example.org,Bob,"two\nlines"\ncid@example.com,Cid,x\n'
    )
    assert good(entries)[0] == CsvRow(2, "ann@example.com", "Smith, Ann", {"note": "ok"})
    assert [r.line for r in rejected(entries)] == [3]  # a line break is not one-line text
    assert good(entries)[1].line == 5


def test_invalid_addresses_are_rejected_with_line_and_reason() -> None:
    """Each bad address becomes a Rejection naming its line, the value and why."""
    entries = parse("email\nnot-an-address\nann@\n\nok@example.com\n@example.com\n")
    assert [r.line for r in rejected(entries)] == [2, 3, 6]
    assert "'not-an-address'" in rejected(entries)[0].reason
    assert "after the @-sign" in rejected(entries)[1].reason
    assert good(entries) == [CsvRow(5, "ok@example.com", None, None)]


def test_a_row_with_the_wrong_number_of_fields_is_rejected_with_a_hint() -> None:
    """An unquoted comma shifts the columns: the row is rejected, not misread."""
    entries = parse("email,name,country\nann@example.com,Smith, Ann,KZ\nbob@example.org\n")
    reasons = [r.reason for r in rejected(entries)]
    assert reasons[0].startswith("4 fields where the header has 3")
    assert "double quotes" in reasons[0]
    assert reasons[1].startswith("1 field where the header has 3")


def test_control_characters_in_names_are_rejected() -> None:
    """A name with a control character (a header-injection risk) is rejected."""
    entries = parse('email,name\nann@example.com,"Ann\x07"\n')
    assert rejected(entries) == [
        Rejection(2, "name: contains a control character (U+0007); expected one line of plain text")
    ]


def test_duplicates_are_passed_on_for_the_store_to_merge() -> None:
    """Addresses differing only in case normalise to the same key."""
    entries = good(parse("email\nAnn@Example.com\nann@example.COM\n"))
    assert {e.email for e in entries} == {"ann@example.com"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\n\n", "the file is empty"),
        (b"name,country\nAnn,KZ\n", "the header has no 'email' column (found: name, country)"),
        (b"ann@example.com,Ann\n", "the header has no 'email' column"),
        (b"email,name,email\n", "names the column 'email' twice"),
        (b"email,,name\n", "column 2 has no name"),
        (b"email,name\nann@example.com,Ann\n\xff\xfeoops\n", "not UTF-8 text (line 3, byte 1"),
        (codecs.BOM_UTF16_LE + "email\n".encode("utf-16-le"), "UTF-16, not UTF-8"),
        (b"email\nann@example.com\x00\n", "not a CSV text file (line 2 holds a NUL byte)"),
        (b"PK\x03\x04\x14\x00\x06\x00", "not a CSV text file"),
        (b'email,name\n"ann@example.com,Ann\n', "not a valid CSV file"),
    ],
)
def test_unusable_files_raise_one_clear_error(content: bytes, message: str) -> None:
    """Not CSV, not UTF-8, no email column, empty: one SubscriberFileError naming the file."""
    with pytest.raises(SubscriberFileError) as caught:
        parse(content)
    assert caught.value.message.startswith("test.csv: ")
    assert message in caught.value.message


def test_headerless_file_gets_a_hint_to_add_a_header() -> None:
    """A file whose first row is data is told to add a header row."""
    with pytest.raises(SubscriberFileError) as caught:
        parse("ann@example.com,Ann\n")
    assert caught.value.hint is not None
    assert "add a header row" in caught.value.hint


def test_missing_file_is_a_file_error(tmp_path: Path) -> None:
    """A path that does not exist is reported as such, not as a traceback."""
    with pytest.raises(SubscriberFileError, match="file not found"):
        list(read_subscriber_csv(tmp_path / "nope.csv"))


def test_the_shipped_sample_lists_are_valid_and_use_example_domains() -> None:
    """subscribers/*.csv parse without rejections and use example.com/.org only."""
    folder = Path(__file__).resolve().parents[2] / "subscribers"
    for path in sorted(folder.glob("*.csv")):
        entries = list(read_subscriber_csv(path))
        assert entries, path
        assert not rejected(entries), path
        assert all(e.email.endswith(("@example.com", "@example.org")) for e in good(entries))


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        ("Ann\t", "0009"),
        ("\tAnn", "0009"),
        ("Ann\x85", "0085"),
        ("\u2028", "2028"),
        ("\x1f", "001F"),
    ],
)
def test_a_control_character_at_the_edge_of_a_cell_is_a_rejection_not_a_crash(
    cell: str, code: str
) -> None:
    """A tab, U+0085 or U+2028 that str.strip() would trim (at either end of a cell) is
    still a control character in the row: the row is rejected with the column and the
    character, and the rows after it are read (it used to end the import with an
    AssertionError)."""
    entries = parse(f"email,name\nann@example.com,{cell}\nbob@example.org,Bob\n")
    assert rejected(entries) == [
        Rejection(
            2, f"name: contains a control character (U+{code}); expected one line of plain text"
        )
    ]
    assert good(entries) == [CsvRow(3, "bob@example.org", "Bob", None)]
