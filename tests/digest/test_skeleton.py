"""The skeleton `newsletter new` writes: it names its schema, and it does not validate
until an editor has filled in every field, so it can never be sent by accident."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import jsonschema
import pytest

from newsletter.digest import (
    SCHEMA_KEY,
    json_schema,
    parse_digest,
    schema_text,
    skeleton,
    skeleton_text,
)
from newsletter.errors import DigestInvalidError

DATE = dt.date(2025, 9, 19)
# What an editor writes into each empty field of the skeleton.
FILLED = {
    "title": "Foreign Media on Kazakhstan",
    "subject": "Kazakhstan in the foreign media",
    "intro": "The week’s articles.",
    "headline": "A headline",
    "outlet": "Euronews",
    "published": "2025-09-18",
    "url": "https://www.euronews.com/article",
    "summary": "What the article says.",
}


def filled(data: Any) -> Any:
    """`data` with every empty string replaced by what an editor would write there."""
    if isinstance(data, dict):
        return {key: FILLED[key] if value == "" else filled(value) for key, value in data.items()}
    if isinstance(data, list):
        return [filled(value) for value in data]
    return data


def test_skeleton_does_not_validate_until_filled_in() -> None:
    """Every field an editor must write is reported, each at its JSON path, and nothing
    else is: the date, the number and "$schema" are already right."""
    with pytest.raises(DigestInvalidError) as caught:
        parse_digest(skeleton_text(DATE, 38), "new.json")
    paths = sorted(problem.path for problem in caught.value.problems)
    assert paths == [
        "intro[0]",
        "items[0].headline",
        "items[0].outlet",
        "items[0].published",
        "items[0].summary[0]",
        "items[0].url",
        "subject",
        "title",
    ]


def test_filled_in_skeleton_is_a_valid_digest() -> None:
    """With its empty fields written, the skeleton is a valid digest of its date and
    number: its shape is the format's."""
    digest = parse_digest(json.dumps(filled(skeleton(DATE, 38))))
    assert (digest.date, digest.number, digest.title) == (DATE, 38, FILLED["title"])
    assert digest.items[0].url == FILLED["url"]


def test_skeleton_names_its_schema_and_fails_it_until_filled() -> None:
    """The skeleton starts with "$schema": "./schema.json"; editors' editors validating
    against the schema mark it until it is filled in, then accept it."""
    data = skeleton(DATE)
    assert next(iter(data.items())) == (SCHEMA_KEY, "./schema.json")
    assert "number" not in data
    schema = json_schema()
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)
    jsonschema.validate(filled(data), schema)


def test_texts_are_indented_utf8_json_with_a_final_newline() -> None:
    """The files are written for people: indented, ’ as itself, ending in a newline."""
    text = schema_text()
    assert text.endswith("}\n") and "\n  " in text
    assert json.loads(text) == json_schema()
    assert json.loads(skeleton_text(DATE, 2)) == skeleton(DATE, 2)
