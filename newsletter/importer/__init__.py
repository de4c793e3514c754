"""From the published article to a digest: the text of a published digest (plain text
or the article page's HTML) into digest JSON, with notes on what to review
(docs/import.md)."""

from __future__ import annotations

from pathlib import Path

from newsletter.errors import ImportTextError
from newsletter.importer.assemble import (
    MAX_SOURCE_CHARS,
    ImportedDigest,
    Note,
    import_text,
    placeholder,
)

MAX_SOURCE_BYTES = 2_000_000
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})


def read_source(path: Path) -> str:
    """The text of `path` (UTF-8, a byte-order mark allowed, at most 2 MB).
    ImportTextError when it is missing, a folder, unreadable, too large or not UTF-8."""
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise ImportTextError(f"{path}: is a folder, expected a text or HTML file")
        if size > MAX_SOURCE_BYTES:
            raise ImportTextError(f"{path}: {size:,} bytes; the importer reads at most 2 MB")
        raw = path.read_bytes()[: MAX_SOURCE_BYTES + 1]
    except FileNotFoundError as err:
        raise ImportTextError(f"{path}: no such file") from err
    except OSError as err:
        raise ImportTextError(f"{path}: cannot read ({err.strerror or err})") from err
    if len(raw) > MAX_SOURCE_BYTES:  # it grew after stat
        raise ImportTextError(f"{path}: more than 2 MB; the importer reads at most 2 MB")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ImportTextError(
            f"{path}: not UTF-8 (invalid byte 0x{raw[err.start]:02x} at offset {err.start})",
            hint="save the text as UTF-8",
        ) from err


def review_path(out: Path) -> Path:
    """Where the review notes of the digest written to `out` go: `2025-09-12.json` →
    `2025-09-12.review.txt`, beside it."""
    return out.with_name(f"{out.stem if out.suffix == '.json' else out.name}.review.txt")


def review_text(imported: ImportedDigest, source: str, out: Path) -> str:
    """The review file: a heading naming the source and the digest, then one note a line
    (`item 3 (“UK gifts…”): no outlet found …`), or a line saying there is none."""
    count = len(imported.notes)
    head = f"Review notes for {out.name}, imported from {source}: "
    lines = [head + (f"{count} to check" if count else "nothing flagged")]
    lines += [f"- {note}" for note in imported.notes]
    return "\n".join(lines) + "\n"


__all__ = [
    "HTML_SUFFIXES",
    "MAX_SOURCE_BYTES",
    "MAX_SOURCE_CHARS",
    "ImportedDigest",
    "Note",
    "import_text",
    "placeholder",
    "read_source",
    "review_path",
    "review_text",
]
