"""CSV entries grouped into chunks ready for the staging table, in this process or another.

Reading and checking a million rows is several seconds of pure Python, and so
is writing them to the database. For a big file the reading therefore runs in a
second process (``python -m newsletter.csvio._reader``) that hands chunks over
through a spool file while this process writes them to the database: the two
overlap on a two-core machine. The reader checks two chunks in three itself and
leaves the rest to this process, which balances the work. Small files are read
here, where starting a process would cost more than it saves.
"""

from __future__ import annotations

import gc
import os
import pickle
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import BinaryIO, TextIO

from newsletter.addresses import simple_email
from newsletter.csvio.csvfile import (
    Columns,
    Entry,
    RawRow,
    Rejection,
    SubscriberCsv,
    open_subscriber_csv,
    to_entry,
)
from newsletter.errors import SubscriberFileError
from newsletter.jsontext import dump_flat_json, quote_json_string
from newsletter.names import MAX_NAME

# (email, name, attributes as JSON text, line): one staging-table row.
StagedRow = tuple[str, str | None, str | None, int]
# Entries per chunk. Each chunk is sorted by address, so the staging B-tree is
# filled in sweeps rather than at random: several times faster for a big file.
# 10,000 rows hold about 4 MB (in each of the two processes); 20,000 took the same
# CPU time for a million rows and 10 MB more memory (issue 16).
CHUNK_ROWS = 10_000
_quote = quote_json_string
# Below this a file is parsed in-process (about 50,000 rows).
BACKGROUND_MIN_BYTES = 4_000_000


@dataclass
class Chunk:
    """Good rows, sorted by address (file order among equal ones), and rejections."""

    rows: list[StagedRow] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


@dataclass
class RawChunk:
    """Rows as read, not yet checked: the importing process checks these itself."""

    columns: Columns
    rows: list[RawRow]


def chunk_entries(entries: Iterable[Entry], size: int | None = None) -> Iterator[Chunk]:
    """Entries as chunks of at most `size` (CHUNK_ROWS), in file order between chunks."""
    size = size or CHUNK_ROWS
    chunk, count = Chunk(), 0
    for entry in entries:  # the hot loop of an import: kept plain on purpose
        if isinstance(entry, Rejection):
            chunk.rejections.append(entry)
        else:
            attributes = dump_flat_json(entry.attributes) if entry.attributes else None
            chunk.rows.append((entry.email, entry.name, attributes, entry.line))
        count += 1
        if count >= size:
            yield _sorted(chunk)
            chunk, count = Chunk(), 0
    if count:
        yield _sorted(chunk)


def checked(raw: RawChunk) -> Chunk:
    """A raw chunk's rows checked, as one chunk: exactly what `chunk_entries` makes of
    `to_entry`'s entries for the same rows (a property test compares the two).

    The common row takes a path written for speed (a million rows per import): no
    apostrophe and no control character in any cell, a plain ASCII address whose
    domain email-validator has already accepted (`addresses.simple_email`), a name
    within the rules, and attribute JSON written straight from the cells, keys in
    the order sorted once per file. Any other row goes through `to_entry`."""
    columns = raw.columns
    count, email_at, name_at = columns.count, columns.email, columns.name
    # (cell index, JSON-quoted key) in key order: dump_flat_json's order, sorted once.
    keyed = [(i, _quote(key)) for i, key in sorted(columns.attributes, key=itemgetter(1))]
    simple = simple_email
    chunk = Chunk()
    rows, rejections = chunk.rows, chunk.rejections
    for line, cells in raw.rows:  # the hot loop of an import: kept plain on purpose
        if len(cells) == count:
            joined = "".join(cells)
            if "'" not in joined and joined.isprintable():
                email = simple(cells[email_at])
                name = cells[name_at].strip() if name_at is not None else None
                if email is not None and (not name or (len(name) <= MAX_NAME and "=?" not in name)):
                    pairs = [
                        f"{key}:{_quote(value)}" for i, key in keyed if (value := cells[i].strip())
                    ]
                    rows.append(
                        (email, name or None, "{" + ",".join(pairs) + "}" if pairs else None, line)
                    )
                    continue
        entry = to_entry(line, cells, columns)
        if isinstance(entry, Rejection):
            rejections.append(entry)
        else:
            attributes = dump_flat_json(entry.attributes) if entry.attributes else None
            rows.append((entry.email, entry.name, attributes, entry.line))
    return _sorted(chunk)


def raw_chunks(opened: SubscriberCsv, size: int | None = None) -> Iterator[RawChunk]:
    """An open CSV's rows, unchecked, in chunks of `size` (CHUNK_ROWS)."""
    size = size or CHUNK_ROWS
    rows: list[RawRow] = []
    for row in opened.raw_rows():
        rows.append(row)
        if len(rows) >= size:
            yield RawChunk(opened.columns, rows)
            rows = []
    if rows:
        yield RawChunk(opened.columns, rows)


def _sorted(chunk: Chunk) -> Chunk:
    # A stable sort: two rows with one address keep their file order, so the
    # staging upsert still lets the later one win.
    chunk.rows.sort(key=itemgetter(0))
    return chunk


def file_chunks(path: Path, *, background: bool | None = None) -> Iterator[Chunk]:
    """The chunks of a CSV file; read in a second process when it is big (or asked to)."""
    if background is None:
        background = (os.cpu_count() or 1) > 1 and _size(path) >= BACKGROUND_MIN_BYTES
    if background:
        return _background_chunks(path)
    return _local_chunks(path)


def _local_chunks(path: Path) -> Iterator[Chunk]:
    with open_subscriber_csv(path) as opened:
        for raw in raw_chunks(opened):
            yield checked(raw)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # open_subscriber_csv reports the problem in words


def _background_chunks(path: Path) -> Iterator[Chunk]:
    with tempfile.TemporaryDirectory(prefix="newsletter-import-") as folder:
        spool = Path(folder) / "chunks"
        spool.touch()
        reader = _start_reader(path, spool, CHUNK_ROWS)
        try:
            with spool.open("rb") as chunks:
                yield from _received(reader, chunks)
        finally:
            if reader.poll() is None:
                reader.kill()  # the consumer stopped early: an error or an interrupt
            reader.communicate()


def _start_reader(path: Path, spool: Path, size: int) -> subprocess.Popen[bytes]:
    # A plain child interpreter rather than multiprocessing: no fork of a process
    # holding database connections, and no re-import of the caller's __main__.
    package_root = str(Path(__file__).resolve().parents[2])
    search_path = [package_root, os.environ.get("PYTHONPATH", "")]
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
        [sys.executable, "-m", "newsletter.csvio._reader", str(path), str(spool), str(size)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, search_path))},
    )


def _received(reader: subprocess.Popen[bytes], chunks: BinaryIO) -> Iterator[Chunk]:
    """Chunks from the spool file, each announced by a line on the reader's stdout.

    The chunks go through a file, not the pipe, so the reader never waits for
    this process to catch up: a pipe holds 64 KiB, a chunk some megabytes."""
    announcements = reader.stdout
    if announcements is None:  # pragma: no cover - Popen was given stdout=PIPE
        raise RuntimeError("the CSV reader process has no stdout")
    while True:
        if not announcements.readline():
            _, errors = reader.communicate()
            detail = errors.decode("utf-8", "replace").strip()
            raise RuntimeError(f"the CSV reader process ended unexpectedly\n{detail}")
        message = pickle.load(chunks)  # noqa: S301 - written by our own child process
        if isinstance(message, Chunk):
            yield message
        elif isinstance(message, RawChunk):
            yield checked(message)  # our share of the checking, while the reader reads on
        elif message[0] == "done":
            return
        elif message[0] == "file":
            raise SubscriberFileError(message[1], hint=message[2])
        else:
            raise RuntimeError(f"the CSV reader process failed:\n{message[1]}")


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector: a bulk import makes millions of tuples and
    no cycles, and the collector would keep re-scanning them (about a quarter of
    the run). Reference counting still frees everything as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def produce(path: Path, spool: BinaryIO, announce: TextIO, size: int | None = None) -> None:
    """The child's work: read `path`, append its chunks to `spool` (announcing each
    with a line on `announce`), then how it ended.

    One chunk in three goes out unchecked, for the importing process to check:
    that share keeps both processes about equally busy while the rows stream in
    (this one also reads and pickles; that one also unpickles and writes them to
    the staging table). The set-based statements that follow are that process's
    alone: checking every chunk here would leave it idle, waiting for chunks."""
    try:
        with gc_paused(), open_subscriber_csv(path) as opened:
            for number, raw in enumerate(raw_chunks(opened, size)):
                _send(spool, announce, raw if number % 3 == 0 else checked(raw))
        _send(spool, announce, ("done",))
    except SubscriberFileError as err:
        _send(spool, announce, ("file", err.message, err.hint))
    except Exception:  # a bug: hand the traceback to the parent rather than lose it
        _send(spool, announce, ("bug", traceback.format_exc()))


def _send(spool: BinaryIO, announce: TextIO, message: object) -> None:
    pickle.dump(message, spool, protocol=pickle.HIGHEST_PROTOCOL)
    spool.flush()  # the whole chunk is in the file before it is announced
    announce.write("\n")
    announce.flush()
