"""The digest format, version 1: the public contract editors write to.

Pure data, no I/O. Every text field is plain text: it is never interpreted as
HTML, MJML or template code; the renderers escape it for wherever it lands.
A paragraph field takes one string or a list of strings; a string with blank
lines in it is split into paragraphs, and line breaks inside a paragraph are
folded into spaces.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from newsletter.validation import http_url, plain_text, unbreakable

FORMAT_VERSION = 1
# The top-level key by which a JSON file names its JSON Schema (editors' editors read it
# to autocomplete and validate as one types). The loader ignores it; it is not content.
SCHEMA_KEY = "$schema"
MAX_ITEMS = 30
# Inboxes show 40–130 characters of the preheader; `newsletter check` warns outside that,
# so the default made from the headlines stays within it.
PREHEADER_LENGTH = 130

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_LINE_BREAK = re.compile(r"\s*[\r\n]+\s*")


def _single_line(value: str) -> str:
    if "\n" in value or "\r" in value or "\t" in value:
        raise ValueError("expected a single line of text (no line breaks or tabs)")
    return value


def _fold_lines(value: str) -> str:
    return _LINE_BREAK.sub(" ", value)


def _as_paragraphs(value: Any) -> Any:
    """One string becomes its paragraphs; anything else is left for type checks."""
    if isinstance(value, str):
        return _PARAGRAPH_BREAK.split(value.strip()) if value.strip() else [value]
    if not isinstance(value, list):
        raise ValueError(
            f"expected a string or a list of paragraph strings, got {type(value).__name__}"
        )
    return value


def _iso_date(value: Any) -> Any:
    """Only YYYY-MM-DD: no timestamps, no datetimes, no '2025-9-1'."""
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError(f"expected an ISO date YYYY-MM-DD, got {value!r}"[:120])
    try:
        return dt.date.fromisoformat(value)
    except ValueError as err:
        raise ValueError(f"{value!r} is not a real date ({err})") from err


Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(plain_text),
    AfterValidator(_single_line),
]
ShortLine = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(plain_text),
    AfterValidator(_single_line),
]
# Text that lands where the HTML line breaker cannot split it: an attribute value
# (alt) or the <title> (the subject, else the title).
UnbreakableLine = Annotated[Line, AfterValidator(unbreakable)]
UnbreakableShortLine = Annotated[ShortLine, AfterValidator(unbreakable)]
Paragraph = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=5000),
    AfterValidator(plain_text),
    AfterValidator(_fold_lines),
]
Paragraphs = Annotated[
    list[Paragraph],
    BeforeValidator(_as_paragraphs, json_schema_input_type=str | list[str]),
    Field(min_length=1, max_length=50),
]
IsoDate = Annotated[
    dt.date,
    BeforeValidator(_iso_date, json_schema_input_type=dt.date),
]
WebUrl = Annotated[str, AfterValidator(http_url(("https", "http")))]
HttpsUrl = Annotated[str, AfterValidator(http_url(("https",)))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Hero(_Strict):
    """The issue's lead photo."""

    image: HttpsUrl | None = Field(default=None, description="Absolute https URL of the photo.")
    alt: UnbreakableLine | None = Field(
        default=None,
        validate_default=True,
        description="What the photo shows, for screen readers; required with `image`.",
    )
    caption: Paragraph | None = None
    credit: ShortLine | None = Field(default=None, description='e.g. "Shutterstock"')

    @field_validator("alt")
    @classmethod
    def _alt_with_image(cls, alt: str | None, info: ValidationInfo) -> str | None:
        if alt is None and info.data.get("image"):
            raise ValueError("is required when image is given (describe the photo)")
        return alt


def _as_quote(value: Any) -> Any:
    """A quote may be written as its text alone: a string or a list of paragraphs."""
    if isinstance(value, str | list):
        return {"text": value}
    return value


class Quote(_Strict):
    """A quotation from the article, with its attribution."""

    text: Paragraphs
    cite: ShortLine | None = Field(
        default=None, description='The attribution, e.g. "reads the article", "said Karabayev".'
    )


class Item(_Strict):
    """One foreign-media article about Kazakhstan."""

    headline: Line
    outlet: ShortLine = Field(description='The publishing outlet, e.g. "Euractiv".')
    published: IsoDate | None = None
    url: WebUrl | None = Field(default=None, description="Absolute http(s) URL of the article.")
    author: ShortLine | None = None
    summary: Paragraphs
    quote: Annotated[
        Quote | None,
        BeforeValidator(_as_quote, json_schema_input_type=str | list[str] | Quote | None),
    ] = None


class Digest(_Strict):
    """One weekly issue of the foreign-media digest."""

    title: UnbreakableLine
    date: IsoDate
    intro: Paragraphs
    hero: Hero | None = None
    items: list[Item] = Field(min_length=1, max_length=MAX_ITEMS)
    subject: UnbreakableShortLine | None = Field(default=None, description="Defaults to the title.")
    preheader: Line | None = Field(
        default=None, description="Inbox preview text; defaults to the start of the intro."
    )
    number: StrictInt | None = Field(default=None, ge=1, description="Issue number.")

    @property
    def email_subject(self) -> str:
        return self.subject or self.title

    @property
    def email_preheader(self) -> str:
        """The override, else the first headlines: they sell the issue in the inbox list."""
        if self.preheader:
            return self.preheader
        joined = " · ".join(item.headline for item in self.items)
        if len(joined) <= PREHEADER_LENGTH:
            return joined
        return joined[: PREHEADER_LENGTH - 1].rsplit(" ", 1)[0].rstrip(" ,;:–—·") + "…"

    def canonical_json(self) -> str:
        """The content as one spelling of JSON (keys sorted, compact, UTF-8): what the
        store keeps of a sent issue, and what `content_hash` hashes. `parse_digest`
        reads it back to an equal Digest."""
        return json.dumps(
            self.model_dump(mode="json"), ensure_ascii=False, sort_keys=True, separators=(",", ":")
        )

    def content_hash(self) -> str:
        """A stable fingerprint of the content: same digest, same hash."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the format, as editors' tools should validate input."""
    schema = Digest.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://astanatimes.com/schemas/digest-v{FORMAT_VERSION}.json"
    # A file may name its schema (`newsletter new` writes "./schema.json"); without this
    # entry `additionalProperties: false` would flag that very line in the editor.
    schema["properties"] = {
        SCHEMA_KEY: {
            "type": "string",
            "description": "Where editors' tools find this schema, e.g. ./schema.json. "
            "Ignored by the newsletter.",
        },
        **schema["properties"],
    }
    return schema
