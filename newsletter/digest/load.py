"""Reading a digest file: bytes → text → JSON → a validated Digest.

Each step has its own clear error; nothing here ever shows a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from newsletter.digest.models import SCHEMA_KEY, Digest
from newsletter.errors import DigestFileError, DigestInvalidError, Problem
from newsletter.validation import describe_errors

MAX_DIGEST_BYTES = 2_000_000


class _DuplicateKeyError(ValueError):
    pass


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON allows repeated keys and keeps the last; an editor almost never means that."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKeyError(key)
        seen[key] = value
    return seen


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as err:
        raise DigestFileError(f"{path}: no such file") from err
    except IsADirectoryError as err:
        raise DigestFileError(f"{path}: is a folder, expected a digest JSON file") from err
    except OSError as err:
        raise DigestFileError(f"{path}: cannot read ({err.strerror})") from err
    if len(raw) > MAX_DIGEST_BYTES:
        raise DigestFileError(f"{path}: {len(raw):,} bytes; a digest is at most 2 MB")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DigestFileError(
            f"{path}: not UTF-8 (invalid byte 0x{raw[err.start]:02x} at offset {err.start})",
            hint="save the file as UTF-8",
        ) from err


def parse_digest(text: str, source: str = "<digest>") -> Digest:
    """Parse and validate digest JSON text; `source` names it in errors.

    A top-level `"$schema"` string (where editors' editors find the JSON Schema, as
    `newsletter new` writes it) is accepted and ignored: it is not content, so it
    changes neither the Digest nor its content hash."""
    try:
        data = json.loads(text, object_pairs_hook=_refuse_duplicate_keys)
    except json.JSONDecodeError as err:
        raise DigestFileError(
            f"{source}: not valid JSON at line {err.lineno}, column {err.colno}: {err.msg}"
        ) from err
    except _DuplicateKeyError as err:
        raise DigestInvalidError(source, [Problem("", f"duplicate key {str(err)!r}")]) from err
    if not isinstance(data, dict):
        raise DigestInvalidError(source, [Problem("", "expected a JSON object at the top level")])
    schema_ref = data.pop(SCHEMA_KEY, None)
    if schema_ref is not None and not isinstance(schema_ref, str):
        problem = Problem(SCHEMA_KEY, "expected a string: the JSON Schema's path or URL")
        raise DigestInvalidError(source, [problem])
    try:
        return Digest.model_validate(data)
    except ValidationError as err:
        raise DigestInvalidError(source, describe_errors(err)) from err


def load_digest(path: Path) -> Digest:
    """Read and validate the digest at `path`."""
    return parse_digest(_read_text(path), str(path))
