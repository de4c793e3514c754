"""Digest files: starting, validating and rendering them."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from newsletter.api.results import NewDigest, RenderedFile, RenderResult
from newsletter.config import Config
from newsletter.digest import SCHEMA_FILE, Digest, load_digest, schema_text, skeleton_text
from newsletter.dispatch.due import digest_dates
from newsletter.errors import InputError, NewsletterError
from newsletter.files import write_atomic, write_new
from newsletter.render import render_issue

ISSUE_INTERVAL = dt.timedelta(days=7)  # the digest is weekly
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def validate(path: Path) -> Digest:
    """The digest in `path`; DigestFileError or DigestInvalidError (3, every problem with
    its JSON path) when it cannot be read or is not valid."""
    return load_digest(path)


def render(
    config: Config, path: Path, out: Path | None = None, *, write: bool = True
) -> RenderResult:
    """Validate and render `path`; with `write`, write email.html, email.txt and
    email.mjml atomically into `out` (default: <build dir>/<digest file stem>/).
    Raises the digest errors of `validate` (3) and RenderError (6)."""
    issue = render_issue(load_digest(path), config)
    warnings = tuple(f"{path}: {text}" for text in issue.warnings)
    if not write:
        return RenderResult(path=path, issue=issue, folder=None, files=(), warnings=warnings)
    folder = out if out is not None else config.build_dir / path.stem
    files = []
    for name, content in (
        ("email.html", issue.html),
        ("email.txt", issue.text),
        ("email.mjml", issue.mjml),
    ):
        target = folder / name
        write_atomic(target, content)
        files.append(RenderedFile(target, len(content.encode("utf-8"))))
    return RenderResult(
        path=path, issue=issue, folder=folder, files=tuple(files), warnings=warnings
    )


def _issue_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        if _ISO_DATE.fullmatch(value):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise InputError(f"date: expected a real date as YYYY-MM-DD, got {value!r}"[:120])


def _number_after(previous: Path | None) -> int | None:
    """The issue number following `previous`'s, when it validates and has one."""
    if previous is None:
        return None
    try:
        number = load_digest(previous).number
    except NewsletterError:
        return None  # an unfinished or broken previous issue: leave the number to the editor
    return None if number is None else number + 1


def new_digest(config: Config, date: dt.date | str | None = None) -> NewDigest:
    """Write the skeleton of the next issue (newsletter.digest.skeleton) into the digests
    folder as YYYY-MM-DD.json, dated `date`, else the newest digest's date plus 7 days,
    and numbered after the newest digest before it; refresh schema.json beside it.

    InputError (3) when the file exists (it is never overwritten), when `date` is not a
    YYYY-MM-DD date, or when no date is given and there is no digest to count from."""
    folder = config.digests_dir
    existing = digest_dates(folder) if folder.is_dir() or date is None else {}
    if date is None:
        if not existing:
            raise InputError(
                f"{folder}: no digest to count the next issue date from",
                hint="give the date: newsletter new --date YYYY-MM-DD",
            )
        when = max(existing) + ISSUE_INTERVAL
    else:
        when = _issue_date(date)
    path = folder / f"{when.isoformat()}.json"
    if when in existing or path.exists():
        raise _exists(path)
    before = [day for day in existing if day < when]
    previous = existing[max(before)] if before else None
    number = _number_after(previous)
    schema = folder / SCHEMA_FILE
    write_atomic(schema, schema_text())
    try:
        write_new(path, skeleton_text(when, number))
    except FileExistsError as err:  # made by someone else since the check above
        raise _exists(path) from err
    return NewDigest(path=path, schema=schema, date=when, number=number, after=previous)


def _exists(path: Path) -> InputError:
    return InputError(
        f"{path}: already exists; newsletter new never overwrites a digest",
        hint="edit that file, or give another date with --date YYYY-MM-DD",
    )
