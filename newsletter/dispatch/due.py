"""Which digest is due: the newest in digests/ dated on or before today."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from newsletter.errors import InputError

_DIGEST_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def digest_dates(folder: Path) -> dict[dt.date, Path]:
    """Digest files named YYYY-MM-DD.json, by date; other files are not digests."""
    if not folder.is_dir():
        raise InputError(f"{folder}: digests folder not found", hint="set paths.digests")
    found: dict[dt.date, Path] = {}
    for path in folder.glob("*.json"):
        if _DIGEST_NAME.match(path.stem):
            try:
                found[dt.date.fromisoformat(path.stem)] = path
            except ValueError:
                continue  # 2025-13-01.json: not a date, so not a digest name
    return found


def due_digest(folder: Path, today: dt.date) -> Path | None:
    """The newest digest dated on or before `today`, if any."""
    due = [day for day in digest_dates(folder) if day <= today]
    return digest_dates(folder)[max(due)] if due else None
