"""Validation helpers shared by the digest format and config.yaml.

Pydantic finds the problems; this module words them for editors: a JSON path
(``items[3].url``), what was wrong, and what is expected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from newsletter.errors import Problem

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_SNIPPET = 60
_NOT_IN_URLS = set('"<>\\^`{|}')

# A value the line breaker cannot split (a quoted attribute value such as a URL or an
# image's alt text, or the HTML <title>) must fit one body line of at most 998 octets
# (RFC 5322 §2.1.1; SendGrid's guidance for content) with its attribute name and
# neighbours: 800 octets as written in the HTML leaves room for those (the <title>
# line carries ~100 octets of MJML markup around it).
MAX_UNBREAKABLE_OCTETS = 800
_HTML_ESCAPES = {"&": 5, '"': 6, "'": 5, "<": 4, ">": 4}  # &amp; &quot; &#39; &lt; &gt;


def json_path(loc: Iterable[int | str]) -> str:
    """('items', 3, 'url') -> 'items[3].url'."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def snippet(value: Any) -> str:
    """A short, printable rendering of a bad input value for an error message."""
    text = repr(value)
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"


def _type_name(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false"}
    if value is None:
        return "null"
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return "a number" if isinstance(value, int | float) else type(value).__name__


def _explain(error: ErrorDetails) -> str:
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    got = f", got {snippet(value)}"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "unknown field (not part of the format; check the spelling)"
    if kind in {"string_type", "string_sub_type"}:
        return f"expected a string, got {_type_name(value)}"
    if kind.startswith("date"):
        return f"expected an ISO date YYYY-MM-DD{got}"
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return f"expected a whole number{got}"
    if kind == "bool_type" or kind == "bool_parsing":
        return f"expected true or false{got}"
    if kind in {"model_type", "dict_type", "model_attributes_type"}:
        return f"expected an object, got {_type_name(value)}"
    if kind == "list_type":
        return f"expected a list, got {_type_name(value)}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"expected at most {ctx.get('max_length')} characters, got {len(str(value))}"
    if kind in {"too_short", "too_long"}:
        bound = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        side = "at least" if kind == "too_short" else "at most"
        noun = "entry" if bound == 1 else "entries"
        return f"expected {side} {bound} {noun}, got {ctx.get('actual_length')}"
    if kind == "string_pattern_mismatch":
        return f"expected text matching {ctx.get('pattern')}{got}"
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        return f"{error['msg'].lower()}{got}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return f"{error['msg']}{got}"


def describe_errors(err: ValidationError) -> list[Problem]:
    """Every problem Pydantic found, as editor-readable Problems in document order."""
    return [Problem(json_path(e["loc"]), _explain(e)) for e in err.errors(include_url=False)]


def plain_text(value: str) -> str:
    """Reject control characters: digest text is plain, single-paragraph text."""
    match = _CONTROL.search(value)
    if match:
        raise ValueError(
            f"contains a control character (U+{ord(match.group()):04X}); "
            "expected plain text (start a new list entry for a new paragraph)"
        )
    return value


def html_octets(value: str) -> int:
    """The length of `value` in UTF-8 octets once escaped for an HTML attribute or text."""
    return len(value.encode("utf-8")) + sum(
        _HTML_ESCAPES[char] - 1 for char in value if char in _HTML_ESCAPES
    )


def unbreakable(value: str) -> str:
    """Refuse a value too long to stay on one body line where it cannot be broken
    (a quoted attribute value or the <title>): see `MAX_UNBREAKABLE_OCTETS`."""
    octets = html_octets(value)
    if octets > MAX_UNBREAKABLE_OCTETS:
        raise ValueError(
            f"too long for one line of the email: {octets} octets as written in HTML "
            f"(UTF-8; & counts 5, as &amp;); expected at most {MAX_UNBREAKABLE_OCTETS}, "
            "since a body line may hold at most 998 (RFC 5322) and this value cannot be "
            "broken"
        )
    return value


def http_url(schemes: tuple[str, ...]) -> Callable[[str], str]:
    """A validator accepting only absolute URLs with one of `schemes` and a host."""
    expected = " or ".join(f"{s}://" for s in schemes)

    def check(value: str) -> str:
        if any(c.isspace() or c in _NOT_IN_URLS for c in value) or _CONTROL.search(value):
            raise ValueError(
                f'expected an absolute {expected} URL without spaces or any of " < > \\ ^ ` {{ | }}'
            )
        parts = urlsplit(value)
        if parts.scheme.lower() not in schemes or not parts.hostname:
            raise ValueError(f"expected an absolute {expected} URL, got {snippet(value)}")
        return unbreakable(value)

    return check
