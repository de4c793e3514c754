"""The skeleton of a new issue: the file `newsletter new` writes for an editor to fill in.

It does not validate until it is filled in, on purpose: every field an editor must write
is present but empty, and the format refuses empty text (and an empty `published` or
`url`). So a skeleton saved in digests/ can never be rendered, previewed or sent, by any
path (`dispatch`, `send --force`, `preview` all validate first), and editors' editors
mark each empty field against the JSON Schema until it is written. Visible "TODO" text
would instead validate and rely on a later gate to stop it.

Pure: no I/O; the API writes the files.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from newsletter.digest.models import SCHEMA_KEY, json_schema

SCHEMA_FILE = "schema.json"  # written beside the digests, named by each new skeleton
SCHEMA_REF = f"./{SCHEMA_FILE}"


def _as_text(data: dict[str, Any]) -> str:
    """JSON as editors read it: indented, UTF-8 characters as themselves, a final newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def skeleton(date: dt.date, number: int | None = None) -> dict[str, Any]:
    """A new issue dated `date` (and numbered `number`, when given): `$schema`, then
    every field editors usually write, empty; one item, to be copied for the next ones.

    Optional fields are included (`subject`, `published`, `url`) because most issues
    use them; an editor deletes the ones an issue does not need."""
    data: dict[str, Any] = {
        SCHEMA_KEY: SCHEMA_REF,
        "title": "",
        "subject": "",
        "date": date.isoformat(),
    }
    if number is not None:
        data["number"] = number
    data["intro"] = ""
    data["items"] = [{"headline": "", "outlet": "", "published": "", "url": "", "summary": ""}]
    return data


def skeleton_text(date: dt.date, number: int | None = None) -> str:
    """`skeleton` as the file's text."""
    return _as_text(skeleton(date, number))


def schema_text() -> str:
    """The JSON Schema of the format (`json_schema`) as the text of schema.json, the same
    text `newsletter schema` prints."""
    return _as_text(json_schema())
