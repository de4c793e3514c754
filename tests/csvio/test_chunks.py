"""Checking rows in chunks: the fast path of an import gives exactly what the row-by-row
rules give, for every kind of cell."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.csvio.chunks import Chunk, RawChunk, checked, chunk_entries
from newsletter.csvio.csvfile import Columns, to_entry
from newsletter.names import MAX_NAME

# Three attribute columns whose keys sort differently from their file order.
COLUMNS = Columns(count=5, email=1, name=3, attributes=((0, "zone"), (2, "city"), (4, "age")))

# Cells of every kind the rules treat differently: plain and odd addresses, names at
# and over the cap, encoded words, apostrophes (neutralised cells), control and
# non-printable characters, non-ASCII, JSON-special characters, white space.
EMAILS = st.sampled_from(
    [
        "ann@example.com",
        " Ann.Smith@Example.COM ",
        "a+b_c%d-e@mail.example.org",
        "o'brien@example.com",
        "'=ann@example.com",
        "ann@bücher.example",
        "ann@xn--bcher-kva.example",
        "ñoño@example.com",
        "=?utf-8?q?x?=@example.com",
        "ann..smith@example.com",
        ".ann@example.com",
        "ann@",
        "ann@-bad-.example",
        "ann@localhost",
        "",
        "x" * 65 + "@example.com",
        "a@" + "b" * 63 + ".example",
        "ann@example.com\x00",
        "ann\u2028@example.com",
    ]
)
TEXT = st.one_of(
    st.sampled_from(
        [
            "",
            "  ",
            "Ann Smith",
            " padded ",
            "O'Brien",
            "'=1+1",
            "''=x",
            "=?utf-8?q?x?=",
            "a=?b",
            "x" * MAX_NAME,
            "x" * (MAX_NAME + 1),
            ' "quoted" \\ back',
            "tab\there",
            "line\nbreak",
            "\x85next",
            "\u00a0nbsp\u00a0",
            "\u200b",
            "Ünïcødé 名前",
            "emoji 👩‍👩‍👧",
        ]
    ),
    st.text(max_size=12),
)


def reference(rows: list[tuple[int, list[str]]]) -> Chunk:
    """What `chunk_entries` makes of `to_entry`'s verdicts: the rules, row by row."""
    entries = (to_entry(line, cells, COLUMNS) for line, cells in rows)
    return next(chunk_entries(entries, len(rows)), Chunk())


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(TEXT, EMAILS, TEXT, TEXT, TEXT).map(list)
        | st.lists(TEXT, max_size=7),  # wrong field counts too
        max_size=12,
    )
)
def test_checked_chunks_equal_the_row_by_row_rules(cells: list[list[str]]) -> None:
    """For any rows, `checked` keeps and rejects the same rows as `to_entry`, with the
    same normalised address, name, attribute JSON (keys sorted) and line, in the same
    order; rejections carry the same reasons."""
    rows = [(line, row) for line, row in enumerate(cells, start=2)]
    fast = checked(RawChunk(COLUMNS, rows))
    slow = reference(rows)
    assert fast.rows == slow.rows
    assert fast.rejections == slow.rejections


def test_the_fast_path_writes_attributes_as_the_store_spells_json() -> None:
    """Attribute JSON from the fast path is the store's one spelling: compact, keys
    sorted (not in column order), empty cells left out, specials escaped."""
    rows = [
        (2, ["EU", "Ann@Example.com", "Astana", "Ann", ""]),
        (3, ["", "b@x.org", 'a"b', "", ""]),
    ]
    chunk = checked(RawChunk(COLUMNS, rows))
    assert chunk.rows == [
        ("ann@example.com", "Ann", '{"city":"Astana","zone":"EU"}', 2),
        ("b@x.org", None, '{"city":"a\\"b"}', 3),
    ]
