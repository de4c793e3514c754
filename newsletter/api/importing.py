"""Importing a published digest's text (plain or HTML) into a digest file to review."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from newsletter.api.results import TextImport
from newsletter.config import Config
from newsletter.errors import ImportTextError
from newsletter.files import write_atomic
from newsletter.importer import HTML_SUFFIXES, import_text, read_source, review_path, review_text

IMPORTED_FOLDER = "imported"


def default_out(config: Config, date: dt.date) -> Path:
    """<build dir>/imported/<date>.json: not the digests folder, where `dispatch` would
    find an issue nobody has reviewed yet."""
    return config.build_dir / IMPORTED_FOLDER / f"{date.isoformat()}.json"


def import_text_file(
    config: Config,
    path: Path,
    out: Path | None,
    *,
    issue_date: dt.date | None,
    overwrite: bool,
) -> TextImport:
    """Read `path`, make the digest, write it and its review notes (the notes first, so a
    digest never stands without them). ImportTextError (13) for a text that cannot
    become a digest or an `out` that exists without `overwrite`; InputError (3) when
    `out` cannot be written."""
    html = True if path.suffix.lower() in HTML_SUFFIXES else None
    imported = import_text(read_source(path), issue_date=issue_date, source=str(path), html=html)
    target = out if out is not None else default_out(config, imported.digest.date)
    review = review_path(target)
    for existing in (target, review):
        if existing.exists() and not overwrite:
            raise ImportTextError(
                f"{existing}: already exists; nothing written",
                hint="choose another --out, or replace it with --force",
            )
    write_atomic(review, review_text(imported, str(path), target))
    write_atomic(target, imported.json_text())
    return TextImport(
        source=path,
        out=target,
        review=review,
        digest=imported.digest,
        notes=imported.notes,
        html=imported.html,
    )
