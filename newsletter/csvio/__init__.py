"""Reading subscriber CSV files: rows checked one by one, grouped into chunks for an import.

Standard library (and email-validator) only: the store imports this package to
import a file, and a big file is read in a child process
(``python -m newsletter.csvio._reader``) that must not pay for SQLAlchemy and
Alembic. See docs/subscribers.md for the file format.
"""

from __future__ import annotations

from newsletter.csvio.chunks import Chunk, StagedRow, chunk_entries, file_chunks, gc_paused
from newsletter.csvio.csvfile import (
    CsvRow,
    Entry,
    Rejection,
    clean_attribute_key,
    clean_text,
    neutralise_cell,
    parse_subscriber_csv,
    read_subscriber_csv,
    unneutralise_cell,
)

__all__ = [
    "Chunk",
    "CsvRow",
    "Entry",
    "Rejection",
    "StagedRow",
    "chunk_entries",
    "clean_attribute_key",
    "clean_text",
    "file_chunks",
    "gc_paused",
    "neutralise_cell",
    "parse_subscriber_csv",
    "read_subscriber_csv",
    "unneutralise_cell",
]
