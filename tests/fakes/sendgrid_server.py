"""A SendGrid v3-compatible HTTP server on 127.0.0.1 for tests and benchmarks.

The real sendgrid-python client talks to it unmodified::

    with FakeSendGrid(api_key="SG.test") as sg:
        client = SendGridAPIClient("SG.test", host=sg.url)
        client.send(mail)
        assert sg.accepted_recipients() == ["reader@example.com"]

Requests to ``POST /v3/mail/send`` are validated against SendGrid's official OpenAPI
description (``tsg_mail_v3.json``, loaded at run time and never copied into the project)
plus the rules the schema cannot express. Faults (429, 5xx, dropped connections, hangs, a
dead server) can be injected while it runs. See docs/testing-sendgrid-server.md.

Run ``python -m tests.fakes.sendgrid_server --port 0`` from the repository root to serve
it by hand or for a benchmark.
"""

from __future__ import annotations

import argparse
import contextlib
import http
import http.server
import json
import math
import operator
import os
import re
import secrets
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Final, Literal, TypeGuard, cast
from urllib.parse import parse_qs, urlsplit

# jsonschema ships no type information; types-jsonschema is not a project dependency.
from jsonschema import Draft202012Validator  # type: ignore[import-untyped, unused-ignore]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "MAIL_SEND_PATH",
    "MAIL_SPEC_FILE",
    "RESERVED_HEADERS",
    "SPEC_DIR_ENV",
    "SUPPRESSIONS_SPEC_FILE",
    "SUPPRESSION_LISTS",
    "UNAUTHORIZED_MESSAGE",
    "AcceptedRequest",
    "ApiError",
    "FakeSendGrid",
    "Fault",
    "RejectedRequest",
    "SeenRequest",
    "SpecNotFoundError",
    "UnsupportedSchemaError",
    "mail_send_quick_check",
    "mail_send_validator",
    "main",
    "require_spec_dir",
    "response_validator",
    "spec_dir",
    "spec_dir_candidate",
    "spec_missing_reason",
]

# --------------------------------------------------------------------------- spec location

SPEC_DIR_ENV: Final = "NEWSLETTER_SENDGRID_SPEC_DIR"
MAIL_SPEC_FILE: Final = "tsg_mail_v3.json"
SUPPRESSIONS_SPEC_FILE: Final = "tsg_suppressions_v3.json"
_REPO_ROOT: Final = Path(__file__).resolve().parents[2]  # tests/fakes/<this> -> repo root


def spec_dir_candidate() -> Path:
    """The directory the spec is looked for in: $NEWSLETTER_SENDGRID_SPEC_DIR or the default."""
    configured = os.environ.get(SPEC_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    return _REPO_ROOT.parent / "shared" / "ref" / "sendgrid"


def spec_dir() -> Path | None:
    """The spec directory if both SendGrid spec files are present there, else None."""
    candidate = spec_dir_candidate()
    wanted = (candidate / MAIL_SPEC_FILE, candidate / SUPPRESSIONS_SPEC_FILE)
    return candidate if all(path.is_file() for path in wanted) else None


def spec_missing_reason() -> str:
    """The message used when the spec is absent (pytest skip reason, error text)."""
    return f"SendGrid OpenAPI spec not found at {spec_dir_candidate()}; set {SPEC_DIR_ENV}"


def require_spec_dir() -> Path:
    """The spec directory, or skip the calling pytest test when the spec is absent."""
    found = spec_dir()
    if found is None:
        import pytest  # only tests call this; the CLI must not need pytest

        pytest.skip(spec_missing_reason())
    return found


class SpecNotFoundError(FileNotFoundError):
    """The SendGrid OpenAPI files are not where spec_dir() looks."""


# --------------------------------------------------------------------------- spec validators

_MAIL_SEND_SCHEMA_POINTER: Final = (
    "/components/requestBodies/PostMailSend/content/application~1json/schema"
)
# Spec defect 1 (see ../shared/ref/sendgrid/README.md): top-level custom_args is typed as a
# string, but SendGrid and sendgrid-python use an object of string values.
_CUSTOM_ARGS_FIX: Final = {"type": "object", "additionalProperties": {"type": "string"}}


def _require_dir(directory: Path | None) -> Path:
    found = directory if directory is not None else spec_dir()
    if found is None:
        raise SpecNotFoundError(spec_missing_reason())
    return found


def _load_spec(directory: Path, name: str) -> dict[str, Any]:
    path = directory / name
    if not path.is_file():
        raise SpecNotFoundError(f"{path} not found; set {SPEC_DIR_ENV}")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _patched_mail_spec(directory: Path) -> dict[str, Any]:
    spec = _load_spec(directory, MAIL_SPEC_FILE)
    schema = _pointer(spec, _MAIL_SEND_SCHEMA_POINTER)
    schema["properties"]["custom_args"] = dict(_CUSTOM_ARGS_FIX)
    return spec


def _pointer(document: Any, pointer: str) -> Any:
    """Follow a JSON pointer ("/a/b~1c") inside an already-loaded document."""
    node = document
    for token in pointer.lstrip("/").split("/"):
        key = token.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _escape_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _validator_for(spec: dict[str, Any], uri: str, pointer: str) -> Any:
    """A Draft 2020-12 validator for the schema at `pointer`; its $refs resolve in `spec`."""
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(uri, resource)
    return Draft202012Validator(
        {"$ref": f"{uri}#{pointer}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def mail_send_validator(directory: Path | None = None) -> Any:
    """The jsonschema validator for POST /v3/mail/send bodies (custom_args defect patched).

    Built once per process and spec directory: compiling it costs far more than one check.
    """
    return _mail_send_validator(_require_dir(directory))


@lru_cache(maxsize=8)
def _mail_send_validator(directory: Path) -> Any:
    spec = _patched_mail_spec(directory)
    return _validator_for(spec, "urn:sendgrid:tsg_mail_v3", _MAIL_SEND_SCHEMA_POINTER)


def response_validator(
    spec_file: str,
    path: str,
    method: str = "get",
    status: str = "200",
    directory: Path | None = None,
) -> Any:
    """A validator for one documented JSON response, e.g. ("tsg_suppressions_v3.json",
    "/v3/suppression/bounces")."""
    return _response_validator(_require_dir(directory), spec_file, path, method, status)


@lru_cache(maxsize=32)
def _response_validator(
    directory: Path, spec_file: str, path: str, method: str, status: str
) -> Any:
    spec = _load_spec(directory, spec_file)
    pointer = (
        f"/paths/{_escape_pointer_token(path)}/{method}/responses/{status}"
        "/content/application~1json/schema"
    )
    return _validator_for(spec, f"urn:sendgrid:{spec_file}", pointer)


# A quick, conservative pre-check compiled from the same schema. jsonschema needs ~70-95 ms
# for one body with 1000 personalizations (measured), far too slow for a benchmark of 1000
# such requests. The pre-check answers True only when the body is certainly valid; on False
# the full jsonschema validator runs and produces the errors, so jsonschema stays the
# authority. Unknown keywords make compilation fail loudly rather than silently pass.
_Check = Callable[[Any], bool]
_ANNOTATIONS: Final = frozenset(
    {"title", "description", "example", "examples", "default", "nullable", "deprecated", "$comment"}
)
_FORMATS: Final[dict[str, _Check]] = {
    # Mirrors jsonschema's FORMAT_CHECKER, which is what the full validator applies.
    "email": lambda value: not isinstance(value, str) or "@" in value,
}


class UnsupportedSchemaError(ValueError):
    """The spec uses a JSON Schema feature the quick pre-check does not implement."""


_PY_TYPES: Final[dict[str, type]] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def _type_check(name: str) -> _Check:
    if name == "integer":  # exact int: bool is excluded, and 1.0 is left to jsonschema
        return lambda value: type(value) is int
    if name == "number":
        return lambda value: type(value) in (int, float)
    if name not in _PY_TYPES:
        raise UnsupportedSchemaError(f"type {name!r}")
    python_type = _PY_TYPES[name]
    return lambda value: isinstance(value, python_type)


def _compile_type(value: Any) -> _Check:
    if isinstance(value, str):
        return _type_check(value)
    checks = [_type_check(name) for name in value]
    return lambda instance: any(check(instance) for check in checks)


def _compile_properties(value: dict[str, Any], root: dict[str, Any]) -> _Check:
    table = {name: _compile(sub, root) for name, sub in value.items()}

    def check(instance: Any) -> bool:
        if not isinstance(instance, dict):
            return True
        # Walk the instance, not the schema: bodies set few of the many documented keys.
        for key, item in instance.items():
            ok = table.get(key)
            if ok is not None and not ok(item):
                return False
        return True

    return check


def _compile_additional(value: Any, schema: dict[str, Any], root: dict[str, Any]) -> _Check:
    if "patternProperties" in schema:
        raise UnsupportedSchemaError("patternProperties")
    known = frozenset(schema.get("properties", {}))
    if value is False:
        return lambda i: not isinstance(i, dict) or all(k in known for k in i)
    ok = _compile(value, root)

    def check(instance: Any) -> bool:
        if not isinstance(instance, dict):
            return True
        return all(k in known or ok(v) for k, v in instance.items())

    return check


def _compile_items(value: Any, root: dict[str, Any]) -> _Check:
    if not isinstance(value, dict):
        raise UnsupportedSchemaError("array-form items")
    ok = _compile(value, root)

    def check(instance: Any) -> bool:
        if not isinstance(instance, list):
            return True
        # A plain loop: faster than all(<genexpr>), and it runs for every recipient.
        for item in instance:  # noqa: SIM110
            if not ok(item):
                return False
        return True

    return check


def _canonical(item: Any) -> Any:
    """A hashable stand-in whose equality matches JSON Schema's, or None if unsure."""
    if isinstance(item, str):
        return ("s", item)
    if isinstance(item, dict) and all(isinstance(v, str) for v in item.values()):
        return ("d", tuple(sorted(item.items())))
    # Numbers and booleans compare differently in JSON Schema (1 == 1.0, True != 1).
    return None


def _unique_items(instance: Any) -> bool:
    if not isinstance(instance, list) or len(instance) < 2:
        return True
    keys = [_canonical(item) for item in instance]
    return None not in keys and len(set(keys)) == len(keys)


def _compile_enum(value: list[Any]) -> _Check:
    if not all(isinstance(x, str) for x in value):
        raise UnsupportedSchemaError("non-string enum")
    allowed = frozenset(value)
    return lambda instance: isinstance(instance, str) and instance in allowed


def _compile_format(value: str) -> _Check:
    if value not in _FORMATS:
        raise UnsupportedSchemaError(f"format {value!r}")
    return _FORMATS[value]


def _compile_keyword(key: str, value: Any, schema: dict[str, Any], root: dict[str, Any]) -> _Check:
    # keyword -> (the instance type it applies to, how len(instance) must compare to it)
    bounds: dict[str, tuple[type, Callable[[int, int], bool]]] = {
        "maxItems": (list, operator.le),
        "minItems": (list, operator.ge),
        "maxProperties": (dict, operator.le),
        "maxLength": (str, operator.le),
        "minLength": (str, operator.ge),
    }
    if key == "$ref":
        if not value.startswith("#/"):
            raise UnsupportedSchemaError(f"$ref {value!r}")
        return _compile(_pointer(root, value[1:]), root)
    if key == "type":
        return _compile_type(value)
    if key == "properties":
        return _compile_properties(value, root)
    if key == "additionalProperties":
        return _compile_additional(value, schema, root)
    if key == "required":
        names = tuple(value)
        return lambda i: not isinstance(i, dict) or all(n in i for n in names)
    if key == "items":
        return _compile_items(value, root)
    if key in bounds:
        kind, compare = bounds[key]
        return lambda i: not isinstance(i, kind) or compare(len(cast(Sized, i)), value)
    if key == "uniqueItems":
        return _unique_items if value else (lambda _: True)
    if key == "enum":
        return _compile_enum(value)
    if key == "format":
        return _compile_format(value)
    raise UnsupportedSchemaError(f"keyword {key!r}")


def _compile(schema: Any, root: dict[str, Any]) -> _Check:
    if schema is True:
        return lambda _: True
    if not isinstance(schema, dict):
        raise UnsupportedSchemaError(f"schema {schema!r}")
    checks = [
        _compile_keyword(key, value, schema, root)
        for key, value in schema.items()
        if key not in _ANNOTATIONS
    ]
    if len(checks) == 1:
        return checks[0]

    def check(instance: Any) -> bool:
        for keyword_check in checks:  # noqa: SIM110 - faster than all(<genexpr>) here
            if not keyword_check(instance):
                return False
        return True

    return check


def mail_send_quick_check(directory: Path | None = None) -> _Check:
    """The conservative pre-check: True means jsonschema would accept the body too."""
    return _mail_send_quick_check(_require_dir(directory))


@lru_cache(maxsize=8)
def _mail_send_quick_check(directory: Path) -> _Check:
    spec = _patched_mail_spec(directory)
    return _compile(_pointer(spec, _MAIL_SEND_SCHEMA_POINTER), spec)


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class ApiError:
    """One entry of SendGrid's {"errors": [...]} list."""

    message: str
    field: str | None = None
    help: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"message": self.message, "field": self.field, "help": self.help}


class _BadRequestError(Exception):
    def __init__(self, errors: Sequence[ApiError]) -> None:
        super().__init__(errors)
        self.errors = list(errors)


def _field(path: Iterable[Any]) -> str | None:
    return ".".join(str(part) for part in path) or None


def _or_list(value: Any) -> str:
    return value if isinstance(value, str) else " or ".join(map(str, value))


def _schema_phrase(error: Any) -> str:
    """A short sentence for one jsonschema error (its own message can embed a huge repr)."""
    value = error.validator_value
    phrases: dict[str, Callable[[], str]] = {
        "type": lambda: f"must be of type {_or_list(value)}",
        "minLength": lambda: f"must be a string at least {value} character(s) in length",
        "maxLength": lambda: f"must be at most {value} characters long",
        "maxItems": lambda: f"may contain at most {value} items",
        "minItems": lambda: f"must contain at least {value} items",
        "maxProperties": lambda: f"may contain at most {value} keys",
        "uniqueItems": lambda: "must not contain duplicate items",
        "format": lambda: f"does not contain a valid {value} address",
        "enum": lambda: f"must be one of: {', '.join(map(str, value))}",
    }
    make = phrases.get(error.validator)
    return make() if make else f"is invalid ({str(error.message)[:200]})"


def _schema_errors(error: Any) -> list[ApiError]:
    path = list(error.absolute_path)
    if error.validator == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        missing = [name for name in error.validator_value if name not in present]
        return [
            ApiError(f"The {_field([*path, name])} field is required.", _field([*path, name]))
            for name in missing
        ]
    where = _field(path)
    return [ApiError(f"The {where or 'request body'} {_schema_phrase(error)}.", where)]


def _dedupe(errors: Iterable[ApiError]) -> list[ApiError]:
    return list(dict.fromkeys(errors))


# --------------------------------------------------------------------------- extra rules

MAX_RECIPIENTS: Final = 1000
MAX_CONTENT_LINE: Final = 998
# An address as SendGrid takes it: printable ASCII, one @, no spaces or brackets.
_ASCII_ADDRESS: Final = re.compile(
    r"[!#-'*+\-/-9=?A-Z^-~.]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?"
)
# A display name SendGrid keeps: no `,` or `;` unless the whole name is a quoted string.
_QUOTED_NAME: Final = re.compile(r'"(?:[^"\\]|\\.)*"')
DROP_INVALID: Final = "Invalid"
MAX_SUBSTITUTION_BYTES: Final = 10_000
MAX_CUSTOM_ARG_BYTES: Final = 10_000
MAX_SEND_AT_AHEAD_SECONDS: Final = 72 * 3600
RESERVED_HEADERS: Final = frozenset(
    name.lower()
    for name in (
        "To", "From", "Subject", "Reply-To", "CC", "BCC", "Content-Type",
        "Content-Transfer-Encoding", "DKIM-Signature", "x-sg-id", "x-sg-eid", "Received",
    )
)  # fmt: skip
_RECIPIENT_KINDS: Final = ("to", "cc", "bcc")


@dataclass(frozen=True)
class _RuleContext:
    now: float
    batches: frozenset[str]
    asm_groups: frozenset[int]


_Indexed = list[tuple[int, dict[str, Any]]]
_Rule = Callable[[dict[str, Any], _Indexed, _RuleContext], Iterator[ApiError]]


def _dicts(value: Any) -> _Indexed:
    """(index, item) for the object items of a list; anything else yields nothing."""
    if not isinstance(value, list):
        return []
    return [(index, item) for index, item in enumerate(value) if isinstance(item, dict)]


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _utf8_size(*mappings: dict[str, Any]) -> int:
    """Bytes of keys plus values: how the 10,000-byte limits are counted here."""

    def size(value: Any) -> int:
        text = value if isinstance(value, str) else json.dumps(value)
        return len(text.encode("utf-8"))

    return sum(size(key) + size(value) for mapping in mappings for key, value in mapping.items())


def _too_big(limit: int, *mappings: dict[str, Any]) -> bool:
    """Whether the mappings together exceed `limit` UTF-8 bytes (keys that repeat count
    once: a personalization's custom_args override the message's)."""
    chars = 0
    for mapping in mappings:
        for key, value in mapping.items():
            if not isinstance(value, str):
                return _utf8_size(dict(item for m in mappings for item in m.items())) > limit
            chars += len(key) + len(value)
    # A character is at most 4 UTF-8 bytes: most bodies are decided without encoding.
    if chars * 4 <= limit:
        return False
    return _utf8_size(dict(item for m in mappings for item in m.items())) > limit


def _rule_personalization_count(
    body: dict[str, Any], _pers: _Indexed, _ctx: _RuleContext
) -> Iterator[ApiError]:
    if body.get("personalizations") == []:
        yield ApiError(
            "The personalizations field must contain at least 1 personalization.",
            "personalizations",
        )


def _duplicate_error(email: str, first: tuple[int, str, int], where: str) -> ApiError:
    i, kind, j = first
    return ApiError(
        f"Each email address may appear only once per request: {email} is repeated"
        f" (first seen at personalizations.{i}.{kind}.{j}).",
        where,
    )


def _rule_recipients(
    _body: dict[str, Any], pers: _Indexed, _ctx: _RuleContext
) -> Iterator[ApiError]:
    total = 0
    first_seen: dict[str, tuple[int, str, int]] = {}
    for i, personalization in pers:
        if personalization.get("to") == []:
            yield ApiError(
                "The to array must have at least one recipient.", f"personalizations.{i}.to"
            )
        for kind in _RECIPIENT_KINDS:
            for j, address in _dicts(personalization.get(kind)):
                total += 1
                email = address.get("email")
                if not isinstance(email, str):
                    continue
                key = email.strip().lower()
                if key in first_seen:
                    yield _duplicate_error(email, first_seen[key], f"personalizations.{i}.{kind}")
                else:
                    first_seen[key] = (i, kind, j)
    if total > MAX_RECIPIENTS:
        yield ApiError(
            f"The total number of recipients (to, cc and bcc in all personalizations) must"
            f" be {MAX_RECIPIENTS} or fewer; found {total}.",
            "personalizations",
        )


def _rule_content(body: dict[str, Any], _pers: _Indexed, _ctx: _RuleContext) -> Iterator[ApiError]:
    content = body.get("content")
    if content in (None, []) and not isinstance(body.get("template_id"), str):
        yield ApiError(
            "Unless a valid template_id is provided, the content parameter is required.",
            "content",
        )
    if not isinstance(content, list):
        return
    types = [item.get("type") if isinstance(item, dict) else None for item in content]
    # sendgrid-python orders AMP between the two, as SendGrid's AMP guide asks.
    expected = [kind for kind in ("text/plain", "text/x-amp-html", "text/html") if kind in types]
    if types[: len(expected)] != expected:
        yield ApiError(
            "If present, text/plain content must come first, followed by text/html,"
            " followed by any other content.",
            "content",
        )


def _rule_content_lines(
    body: dict[str, Any], _pers: _Indexed, _ctx: _RuleContext
) -> Iterator[ApiError]:
    """SendGrid's guidance (HTML formatting issues): no content line over 998 octets;
    SendGrid itself lets mail servers break such lines anywhere. This server refuses
    them so tests catch the fault."""
    for j, part in _dicts(body.get("content")):
        value = part.get("value")
        if not isinstance(value, str):
            continue
        longest = max(len(line.encode("utf-8")) for line in value.split("\n"))
        if longest > MAX_CONTENT_LINE:
            yield ApiError(
                f"Content lines may be at most {MAX_CONTENT_LINE} octets; found {longest}.",
                f"content.{j}.value",
            )


def _address_places(body: dict[str, Any], pers: _Indexed) -> Iterator[tuple[str, Any]]:
    for name in ("from", "reply_to"):
        if isinstance(body.get(name), dict):
            yield name, body[name].get("email")
    for i, personalization in pers:
        for kind in _RECIPIENT_KINDS:
            for j, address in _dicts(personalization.get(kind)):
                yield f"personalizations.{i}.{kind}.{j}.email", address.get("email")


def _rule_ascii_addresses(
    body: dict[str, Any], pers: _Indexed, _ctx: _RuleContext
) -> Iterator[ApiError]:
    """SendGrid takes addresses in ASCII only: an IDN domain in its punycode form, and
    no non-ASCII local part (no SMTPUTF8); anything else is not a valid address."""
    for where, email in _address_places(body, pers):
        if isinstance(email, str) and not _ASCII_ADDRESS.fullmatch(email):
            yield ApiError("Does not contain a valid address.", where)


def _rule_subject(body: dict[str, Any], pers: _Indexed, _ctx: _RuleContext) -> Iterator[ApiError]:
    if "subject" in body or isinstance(body.get("template_id"), str):
        return
    if pers and all("subject" in personalization for _, personalization in pers):
        return
    yield ApiError(
        "The subject is required unless a template defines one or every personalization"
        " has a subject.",
        "subject",
    )


def _header_errors(headers: Any, prefix: str) -> Iterator[ApiError]:
    if not isinstance(headers, dict):
        return
    for name, value in headers.items():
        if name.lower() in RESERVED_HEADERS:
            yield ApiError(f"The header {name} is reserved and may not be set.", f"{prefix}headers")
        if not isinstance(value, str):
            yield ApiError("Header values must be strings.", f"{prefix}headers.{name}")


def _rule_headers(body: dict[str, Any], pers: _Indexed, _ctx: _RuleContext) -> Iterator[ApiError]:
    yield from _header_errors(body.get("headers"), "")
    for i, personalization in pers:
        yield from _header_errors(personalization.get("headers"), f"personalizations.{i}.")


def _rule_substitutions(
    _body: dict[str, Any], pers: _Indexed, _ctx: _RuleContext
) -> Iterator[ApiError]:
    for i, personalization in pers:
        substitutions = personalization.get("substitutions")
        if isinstance(substitutions, dict) and _too_big(MAX_SUBSTITUTION_BYTES, substitutions):
            yield ApiError(
                f"The substitutions of one personalization may total at most"
                f" {MAX_SUBSTITUTION_BYTES} bytes.",
                f"personalizations.{i}.substitutions",
            )


def _rule_custom_args(
    body: dict[str, Any], pers: _Indexed, _ctx: _RuleContext
) -> Iterator[ApiError]:
    message_args = body.get("custom_args")
    message_args = message_args if isinstance(message_args, dict) else {}
    too_big = (
        "custom_args (message and personalization level together) may total at most"
        f" {MAX_CUSTOM_ARG_BYTES} bytes."
    )
    if _too_big(MAX_CUSTOM_ARG_BYTES, message_args):
        yield ApiError(too_big, "custom_args")
        return  # every personalization would repeat the same complaint
    for i, personalization in pers:
        args = personalization.get("custom_args")
        if not isinstance(args, dict):
            continue
        for key, value in args.items():
            if not isinstance(value, str):
                yield ApiError(
                    "custom_args values must be strings.", f"personalizations.{i}.custom_args.{key}"
                )
        if _too_big(MAX_CUSTOM_ARG_BYTES, message_args, args):
            yield ApiError(too_big, f"personalizations.{i}.custom_args")


def _rule_categories(
    body: dict[str, Any], _pers: _Indexed, _ctx: _RuleContext
) -> Iterator[ApiError]:
    categories = body.get("categories")
    if not isinstance(categories, list):
        return
    for j, category in enumerate(categories):
        if isinstance(category, str) and not category.isascii():
            yield ApiError("Categories must contain only ASCII characters.", f"categories.{j}")


def _rule_send_at(body: dict[str, Any], pers: _Indexed, ctx: _RuleContext) -> Iterator[ApiError]:
    latest = ctx.now + MAX_SEND_AT_AHEAD_SECONDS
    places = [("send_at", body.get("send_at"))]
    places += [(f"personalizations.{i}.send_at", p.get("send_at")) for i, p in pers]
    for where, send_at in places:
        if _is_int(send_at) and send_at > latest:
            yield ApiError("send_at may be at most 72 hours in the future.", where)


def _rule_batch_id(body: dict[str, Any], _pers: _Indexed, ctx: _RuleContext) -> Iterator[ApiError]:
    batch_id = body.get("batch_id")
    if isinstance(batch_id, str) and batch_id not in ctx.batches:
        yield ApiError(
            "The batch_id is not valid: create it with POST /v3/mail/batch first.", "batch_id"
        )


def _rule_reply_to(body: dict[str, Any], _pers: _Indexed, _ctx: _RuleContext) -> Iterator[ApiError]:
    if "reply_to" in body and "reply_to_list" in body:
        yield ApiError("reply_to and reply_to_list cannot be used together.", "reply_to")


def _rule_asm(body: dict[str, Any], _pers: _Indexed, ctx: _RuleContext) -> Iterator[ApiError]:
    asm = body.get("asm")
    if not isinstance(asm, dict):
        return
    group_id = asm.get("group_id")
    if _is_int(group_id) and group_id not in ctx.asm_groups:
        yield ApiError(f"The unsubscribe group {group_id} does not exist.", "asm.group_id")
    displayed = asm.get("groups_to_display")
    for j, shown in enumerate(displayed if isinstance(displayed, list) else []):
        if _is_int(shown) and shown not in ctx.asm_groups:
            yield ApiError(
                f"The unsubscribe group {shown} does not exist.", f"asm.groups_to_display.{j}"
            )


_RULES: Final[tuple[_Rule, ...]] = (
    _rule_personalization_count,
    _rule_recipients,
    _rule_content,
    _rule_content_lines,
    _rule_ascii_addresses,
    _rule_subject,
    _rule_headers,
    _rule_substitutions,
    _rule_custom_args,
    _rule_categories,
    _rule_send_at,
    _rule_batch_id,
    _rule_reply_to,
    _rule_asm,
)


def _extra_rule_errors(body: Any, ctx: _RuleContext) -> list[ApiError]:
    """The rules the OpenAPI schema cannot express (spec README, defect 2, and library notes)."""
    if not isinstance(body, dict):
        return []
    personalizations = _dicts(body.get("personalizations"))
    return [error for rule in _RULES for error in rule(body, personalizations, ctx)]


# --------------------------------------------------------------------------- records & faults

MAIL_SEND_PATH: Final = "/v3/mail/send"
DEFAULT_MAX_BODY_BYTES: Final = 30 * 1024 * 1024
_DRAIN_LIMIT: Final = 256 * 1024 * 1024  # beyond this a refused body is not read at all
UNAUTHORIZED_MESSAGE: Final = "The provided authorization grant is invalid, expired, or revoked"


@dataclass(frozen=True)
class AcceptedRequest:
    """A mail send that got 202 (or 200 in sandbox mode)."""

    body: dict[str, Any] | None  # None when the server was built with keep_bodies=False
    recipients: tuple[str, ...]  # lowercased `to` addresses, in request order, none dropped
    message_id: str | None  # None for sandboxed requests
    headers: dict[str, str]  # lowercased header names
    time: float
    sandbox: bool = False
    dropped: tuple[tuple[str, str], ...] = ()  # (address, reason) SendGrid would drop


@dataclass(frozen=True)
class RejectedRequest:
    """A mail send that got 400, with the errors sent back."""

    body: Any  # None when the body was not valid JSON
    errors: tuple[ApiError, ...]
    headers: dict[str, str]
    time: float

    def fields(self) -> list[str | None]:
        return [error.field for error in self.errors]


@dataclass(frozen=True)
class SeenRequest:
    """One line of the request log: every request, whatever happened to it."""

    n: int
    method: str
    path: str
    status: int | None  # what was (or would have been) answered; None if never decided
    fault: str | None  # the injected fault's kind, if any
    time: float


FaultKind = Literal["status", "cut", "hang", "die"]


@dataclass(frozen=True)
class Fault:
    """Something to do to a request instead of (or after) answering it normally."""

    kind: FaultKind
    status: int = 0
    retry_after: float | None = None
    reset_at: int | None = None
    seconds: float = 0.0
    reset: bool = False
    process: bool = True

    @classmethod
    def http(
        cls, status: int = 429, *, retry_after: float | None = None, reset_at: int | None = None
    ) -> Fault:
        """Answer `status` without processing (429 carries the rate-limit headers)."""
        if status < 400:
            raise ValueError(f"a fault status must be an error, not {status}")
        return cls("status", status=status, retry_after=retry_after, reset_at=reset_at)

    @classmethod
    def cut_after_accept(cls, *, reset: bool = False) -> Fault:
        """Process and record the request, then close the connection without answering."""
        return cls("cut", reset=reset)

    @classmethod
    def hang(cls, seconds: float) -> Fault:
        """Process and record the request, then wait `seconds` before answering."""
        return cls("hang", seconds=seconds)

    @classmethod
    def die(cls, *, process: bool = False) -> Fault:
        """Stop the whole server mid-request: no answer, later connections are refused."""
        return cls("die", process=process)


FaultHook = Callable[[int], Fault | None]


@dataclass
class _QueuedFault:
    fault: Fault
    path: str | None


@dataclass
class _Hook:
    hook: FaultHook
    path: str | None
    count: int = 0


@dataclass
class _Group:
    name: str
    description: str
    is_default: bool
    emails: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    refusal: _Response | None = None  # decided while reading the body (413, 411, ...)


@dataclass(frozen=True)
class _Response:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    close: bool = False


def _json_response(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> _Response:
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return _Response(status, body, (("Content-Type", "application/json"), *headers))


def _error_response(
    status: int, errors: Sequence[ApiError], headers: Iterable[tuple[str, str]] = ()
) -> _Response:
    return _json_response(status, {"errors": [e.to_json() for e in errors]}, headers)


_STATUS_MESSAGES: Final = {
    401: UNAUTHORIZED_MESSAGE,
    403: "access forbidden",
    404: "not found",
    405: "method not allowed",
    413: "content too large",
    429: "too many requests",
    500: "internal server error",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
}


def _status_message(status: int) -> str:
    if status in _STATUS_MESSAGES:
        return _STATUS_MESSAGES[status]
    try:
        return http.HTTPStatus(status).phrase.lower()
    except ValueError:  # a made-up status such as 599 from a fault
        return f"error {status}"


def _status_error(status: int, headers: Iterable[tuple[str, str]] = ()) -> _Response:
    return _error_response(status, [ApiError(_status_message(status))], headers)


def _closing(response: _Response) -> _Response:
    return _Response(response.status, response.body, response.headers, close=True)


def _new_id(nbytes: int = 16) -> str:
    # SendGrid message ids look like 22 URL-safe base64 characters.
    return secrets.token_urlsafe(nbytes)


# --------------------------------------------------------------------------- suppressions

SUPPRESSION_LISTS: Final = ("bounces", "blocks", "spam_reports", "unsubscribes", "invalid_emails")
MAX_PAGE_SIZE: Final = 500  # PaginationCommonLimit.maximum in tsg_suppressions_v3.json


@dataclass(frozen=True)
class _Page:
    limit: int
    offset: int
    start_time: int | None
    end_time: int | None
    email: re.Pattern[str] | None


def _int_param(
    query: dict[str, list[str]], name: str, minimum: int, maximum: int | None = None
) -> int | None:
    values = query.get(name)
    if not values:
        return None
    try:
        number = int(values[-1])
    except ValueError:
        number = minimum - 1
    if number < minimum or (maximum is not None and number > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise _BadRequestError(
            [ApiError(f"{name} must be an integer of at least {minimum}{upper}.", name)]
        )
    return number


def _email_filter(query: dict[str, list[str]]) -> re.Pattern[str] | None:
    """SendGrid's `email` filter: a prefix match where % is a wildcard (sent as %25)."""
    values = query.get("email")
    if not values:
        return None
    pattern = ".*".join(re.escape(part) for part in values[-1].split("%"))
    return re.compile(pattern, re.IGNORECASE)


def _parse_page(query: dict[str, list[str]], default_limit: int) -> _Page:
    limit = _int_param(query, "limit", 1, MAX_PAGE_SIZE)
    return _Page(
        limit=default_limit if limit is None else limit,
        offset=_int_param(query, "offset", 0) or 0,
        start_time=_int_param(query, "start_time", 0),
        end_time=_int_param(query, "end_time", 0),
        email=_email_filter(query),
    )


def _page_rows(rows: list[dict[str, Any]], page: _Page) -> list[dict[str, Any]]:
    def wanted(row: dict[str, Any]) -> bool:
        created = int(row["created"])
        return (
            (page.start_time is None or created >= page.start_time)
            and (page.end_time is None or created <= page.end_time)
            and (page.email is None or page.email.match(str(row["email"])) is not None)
        )

    selected = [row for row in rows if wanted(row)]
    return selected[page.offset : page.offset + page.limit]


# --------------------------------------------------------------------------- HTTP plumbing


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True  # a test process must never wait for a handler thread
    allow_reuse_address = True  # restart() binds the same port again at once
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(self, address: tuple[str, int], app: FakeSendGrid) -> None:
        self.app = app
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that vanish (timeouts, cut connections) are expected; anything else is
        # a bug in the fake and is kept for tests to see instead of printed to stderr.
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            self.app._record_server_error(traceback.format_exc())


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive clients in benchmarks reuse connections
    server_version = "FakeSendGrid/1.0"
    sys_version = ""
    timeout = 60  # an idle keep-alive connection must not pin a thread forever

    @property
    def app(self) -> FakeSendGrid:
        return cast(_Server, self.server).app

    def setup(self) -> None:
        super().setup()
        self.app._track_connection(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.app._track_connection(self.connection, add=False)

    def do_GET(self) -> None:  # http.server dispatches on this name
        self.app._serve(self)

    def do_POST(self) -> None:
        self.app._serve(self)

    def do_PUT(self) -> None:
        self.app._serve(self)

    def do_PATCH(self) -> None:
        self.app._serve(self)

    def do_DELETE(self) -> None:
        self.app._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: pytest output and benchmarks should not carry access logs."""


def _read_body(handler: _Handler, max_bytes: int) -> tuple[bytes, _Response | None]:
    """The request body, or the refusal to send once authentication has been checked."""
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        return b"", _closing(_status_error(411))
    try:
        length = int(handler.headers.get("Content-Length") or 0)
    except ValueError:
        return b"", _closing(_error_response(400, [ApiError("Bad Content-Length")]))
    if length > max_bytes:
        return b"", _refuse_oversize(handler, length)
    raw = handler.rfile.read(length) if length > 0 else b""
    if handler.headers.get("Content-Encoding", "").lower() == "gzip":
        return _gunzip(raw, max_bytes)
    return raw, None


def _refuse_oversize(handler: _Handler, length: int) -> _Response:
    # Read and discard the body so the client gets to read the 413 instead of failing
    # with a broken pipe while still sending.
    remaining = length if length <= _DRAIN_LIMIT else 0
    while remaining > 0:
        chunk = handler.rfile.read(min(remaining, 1 << 16))
        if not chunk:
            break
        remaining -= len(chunk)
    return _closing(_status_error(413))


def _gunzip(raw: bytes, max_bytes: int) -> tuple[bytes, _Response | None]:
    """Mail Body Compression (Content-Encoding: gzip), bounded like an uncompressed body."""
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(raw, max_bytes + 1)
    except zlib.error:
        return b"", _error_response(400, [ApiError("The gzip body could not be decompressed.")])
    if len(data) > max_bytes or inflater.unconsumed_tail:
        return b"", _status_error(413)
    return data, None


def _write(handler: _Handler, response: _Response) -> None:
    try:
        handler.send_response(response.status)
        for name, value in response.headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(response.body)))
        if response.close:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        handler.wfile.write(response.body)
    except OSError:
        handler.close_connection = True  # the client already gave up (timeout, reset)


def _cut(handler: _Handler, *, reset: bool) -> None:
    """Close the connection without an answer: a FIN (clean close) or an RST (reset)."""
    handler.close_connection = True
    if reset:
        with contextlib.suppress(OSError):
            linger = struct.pack("ii", 1, 0)  # l_onoff=1, l_linger=0: close sends RST
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            handler.connection.close()


# --------------------------------------------------------------------------- the server

_RouteHandler = Callable[[_Request, re.Match[str]], _Response]


class FakeSendGrid:
    """A SendGrid v3 look-alike on 127.0.0.1; see the module docstring and the docs page."""

    def __init__(
        self,
        api_key: str = "SG.test",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        forbidden_keys: Iterable[str] = (),
        asm_groups: Iterable[int] = (),
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        clock: Callable[[], float] = time.time,
        rate_limit: int = 600,
        default_page_size: int = MAX_PAGE_SIZE,
        keep_bodies: bool = True,
        spec_path: Path | None = None,
    ) -> None:
        directory = _require_dir(spec_path)
        # Compiled once per process (lru_cache); constructing many servers stays cheap.
        self._validator = mail_send_validator(directory)
        self._quick_check = mail_send_quick_check(directory)
        self.api_key = api_key
        self.host = host
        self.forbidden_keys = frozenset(forbidden_keys)
        self.max_body_bytes = max_body_bytes
        self.clock = clock
        self.rate_limit = rate_limit
        self.default_page_size = default_page_size
        self.keep_bodies = keep_bodies
        self._port = port
        self._lock = threading.Lock()
        self._lifecycle = threading.Lock()
        self._halt = threading.Event()  # set by stop(): wakes hanging and sleeping handlers
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._reset_records()
        self._faults: deque[_QueuedFault] = deque()
        self._hook: _Hook | None = None
        self._latency = 0.0
        self._refused: frozenset[str] = frozenset()  # addresses answered 400, by field
        self._batches: set[str] = set()
        self._scheduled: dict[str, str] = {}
        self._cancellations: list[str] = []
        self._suppressions: dict[str, list[dict[str, Any]]] = {k: [] for k in SUPPRESSION_LISTS}
        self._groups: dict[int, _Group] = {}
        for group_id in asm_groups:
            self.add_asm_group(group_id)
        self._routes = self._build_routes()

    def _reset_records(self) -> None:
        self._accepted: list[AcceptedRequest] = []
        self._sandboxed: list[AcceptedRequest] = []
        self._rejected: list[RejectedRequest] = []
        self._log: list[SeenRequest] = []
        self._seen = 0
        self._server_errors: list[str] = []

    # ----------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """The base URL to pass as SendGridAPIClient(host=...): no /v3 suffix."""
        return f"http://{self.host}:{self._port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> FakeSendGrid:
        """Listen (on the same port again after stop()) and serve in a daemon thread."""
        with self._lifecycle:
            if self._server is not None:
                return self
            server = _Server((self.host, self._port), self)
            self._port = int(server.socket.getsockname()[1])
            self._halt.clear()
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.02},  # stop() returns within ~20 ms
                name=f"FakeSendGrid:{self._port}",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Close the listening socket and every open connection; records stay readable."""
        with self._lifecycle:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None or thread is None:
            return
        self._halt.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            open_connections = list(self._connections)
        for connection in open_connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if thread is not threading.current_thread():
            thread.join(timeout=5)

    def refuse_all(self) -> None:
        """Make every later connection fail with ECONNREFUSED (same as stop())."""
        self.stop()

    def restart(self) -> None:
        """stop() if running, then listen again on the same port."""
        self.stop()
        self.start()

    def __enter__(self) -> FakeSendGrid:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _track_connection(self, connection: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _record_server_error(self, text: str) -> None:
        with self._lock:
            self._server_errors.append(text)

    # ----------------------------------------------------------------- fault injection

    def inject(self, fault: Fault, times: int = 1, *, path: str | None = MAIL_SEND_PATH) -> None:
        """Apply `fault` to the next `times` requests whose path starts with `path`
        (None: any request)."""
        with self._lock:
            self._faults.extend(_QueuedFault(fault, path) for _ in range(times))

    def fail_next(
        self,
        n: int = 1,
        status: int = 429,
        *,
        retry_after: float | None = None,
        reset_at: int | None = None,
        path: str | None = MAIL_SEND_PATH,
    ) -> None:
        """Answer the next `n` requests with `status` (429: Retry-After + X-RateLimit-*)."""
        self.inject(Fault.http(status, retry_after=retry_after, reset_at=reset_at), n, path=path)

    def cut_after_accept_next(
        self, n: int = 1, *, reset: bool = False, path: str | None = MAIL_SEND_PATH
    ) -> None:
        """Record the next `n` requests, then drop their connections without answering."""
        self.inject(Fault.cut_after_accept(reset=reset), n, path=path)

    def hang_next(
        self, n: int = 1, seconds: float = 5.0, *, path: str | None = MAIL_SEND_PATH
    ) -> None:
        """Record the next `n` requests, then wait `seconds` (or until stop()) to answer."""
        self.inject(Fault.hang(seconds), n, path=path)

    def die_next(self, *, process: bool = False, path: str | None = MAIL_SEND_PATH) -> None:
        """Stop the server while handling the next request, which gets no answer."""
        self.inject(Fault.die(process=process), 1, path=path)

    def on_request(self, hook: FaultHook | None, *, path: str | None = MAIL_SEND_PATH) -> None:
        """Call hook(n) for the n-th request (1-based) matching `path`; a Fault it returns
        applies to that request. Queued faults win over the hook. None removes the hook."""
        with self._lock:
            self._hook = None if hook is None else _Hook(hook, path)

    def latency(self, seconds: float) -> None:
        """Delay every request by `seconds` before handling it (0 turns it off)."""
        with self._lock:
            self._latency = max(0.0, seconds)

    def refuse_addresses(self, addresses: Iterable[str]) -> None:
        """Answer 400 to any Mail Send body with one of `addresses` in a `to`, naming the
        personalization's field, as SendGrid does for an address its own checks refuse
        ("Does not contain a valid address."). An empty iterable turns it off."""
        with self._lock:
            self._refused = frozenset(a.lower() for a in addresses)

    def clear_faults(self) -> None:
        """Forget queued faults, the hook and the latency."""
        with self._lock:
            self._faults.clear()
            self._hook = None
            self._latency = 0.0

    def pending_faults(self) -> list[Fault]:
        with self._lock:
            return [queued.fault for queued in self._faults]

    # ----------------------------------------------------------------- seeding

    def create_batch(self) -> str:
        """A new batch id, as POST /v3/mail/batch would return."""
        batch_id = _new_id(24)
        with self._lock:
            self._batches.add(batch_id)
        return batch_id

    def add_asm_group(
        self, group_id: int, name: str = "", description: str = "", *, is_default: bool = False
    ) -> None:
        """Make an unsubscribe group exist (asm.group_id is checked against these)."""
        with self._lock:
            if group_id not in self._groups:
                label = name or f"Group {group_id}"
                self._groups[group_id] = _Group(label, description or label, is_default)

    def add_group_suppression(self, group_id: int, email: str) -> None:
        """Suppress `email` for an unsubscribe group (created if it does not exist yet)."""
        self.add_asm_group(group_id)
        with self._lock:
            self._groups[group_id].emails.append(email)

    def add_bounce(
        self,
        email: str,
        reason: str = "550 5.1.1 The email account that you tried to reach does not exist.",
        status: str = "5.1.1",
        created: int | None = None,
    ) -> None:
        self._add_suppression("bounces", email, created, {"reason": reason, "status": status})

    def add_block(
        self, email: str, reason: str = "blocked", status: str = "4.0.0", created: int | None = None
    ) -> None:
        self._add_suppression("blocks", email, created, {"reason": reason, "status": status})

    def add_spam_report(
        self, email: str, ip: str = "192.0.2.1", created: int | None = None
    ) -> None:
        self._add_suppression("spam_reports", email, created, {"ip": ip})

    def add_global_unsubscribe(self, email: str, created: int | None = None) -> None:
        self._add_suppression("unsubscribes", email, created, {})

    def add_invalid_email(
        self, email: str, reason: str = "Mail domain mentioned in email address is unknown",
        created: int | None = None,
    ) -> None:  # fmt: skip
        self._add_suppression("invalid_emails", email, created, {"reason": reason})

    def _add_suppression(
        self, kind: str, email: str, created: int | None, extra: dict[str, str]
    ) -> None:
        when = int(self.clock()) if created is None else created
        with self._lock:
            self._suppressions[kind].append({"created": when, "email": email, **extra})

    # ----------------------------------------------------------------- inspection

    @property
    def accepted(self) -> list[AcceptedRequest]:
        """Mail sends answered 202, oldest first (a snapshot)."""
        with self._lock:
            return list(self._accepted)

    @property
    def sandboxed(self) -> list[AcceptedRequest]:
        """Mail sends answered 200 because sandbox_mode was on; never delivered."""
        with self._lock:
            return list(self._sandboxed)

    @property
    def rejected(self) -> list[RejectedRequest]:
        """Mail sends answered 400, with their errors."""
        with self._lock:
            return list(self._rejected)

    @property
    def requests_seen(self) -> int:
        """Every request received, whatever the answer (or none)."""
        with self._lock:
            return self._seen

    @property
    def log(self) -> list[SeenRequest]:
        with self._lock:
            return list(self._log)

    @property
    def server_errors(self) -> list[str]:
        """Tracebacks of bugs inside the fake itself; tests can assert this stays empty."""
        with self._lock:
            return list(self._server_errors)

    @property
    def batches(self) -> set[str]:
        with self._lock:
            return set(self._batches)

    @property
    def scheduled_sends(self) -> dict[str, str]:
        """batch_id -> "cancel" | "pause", as currently set."""
        with self._lock:
            return dict(self._scheduled)

    @property
    def cancellations(self) -> list[str]:
        """Batch ids in the order they were set to "cancel" (POST or PATCH)."""
        with self._lock:
            return list(self._cancellations)

    def accepted_recipients(self) -> list[str]:
        """Every `to` address of every accepted send, lowercased, in order, repeats kept."""
        with self._lock:
            return [email for request in self._accepted for email in request.recipients]

    def dropped_recipients(self) -> list[tuple[str, str]]:
        """(address, reason) of every recipient an accepted send named but SendGrid would
        drop after answering 202, as its `dropped` event would report them."""
        with self._lock:
            return [item for request in self._accepted for item in request.dropped]

    def accepted_message_ids(self) -> list[str]:
        with self._lock:
            return [r.message_id for r in self._accepted if r.message_id is not None]

    def clear_records(self) -> None:
        """Forget recorded requests and the request count (state such as batches stays)."""
        with self._lock:
            self._reset_records()

    # ----------------------------------------------------------------- request flow

    def _serve(self, handler: _Handler) -> None:
        """Handle one request: count it, apply latency and any fault, answer (or not)."""
        try:
            request = self._read_request(handler)
            n, fault = self._admit(request.method, request.path)
            if self._latency:
                self._halt.wait(self._latency)
            self._apply(handler, request, n, fault)
        except Exception:  # a bug in the fake: answer 500 and keep the traceback
            self._record_server_error(traceback.format_exc())
            _write(handler, _status_error(500))

    def _read_request(self, handler: _Handler) -> _Request:
        split = urlsplit(handler.path)
        body, refusal = _read_body(handler, self.max_body_bytes)
        return _Request(
            method=handler.command,
            path=split.path.rstrip("/") or "/",
            query=parse_qs(split.query),
            headers={name.lower(): value for name, value in handler.headers.items()},
            body=body,
            refusal=refusal,
        )

    def _admit(self, method: str, path: str) -> tuple[int, Fault | None]:
        with self._lock:
            self._seen += 1
            n = self._seen
            for queued in self._faults:
                if queued.path is None or path.startswith(queued.path):
                    self._faults.remove(queued)
                    return n, queued.fault
            hook = self._hook
            if hook is None or not (hook.path is None or path.startswith(hook.path)):
                return n, None
            hook.count += 1
            count = hook.count
        return n, hook.hook(count)  # called unlocked: the hook may use this object

    def _apply(self, handler: _Handler, request: _Request, n: int, fault: Fault | None) -> None:
        kind = fault.kind if fault else None
        if fault is not None and fault.kind == "die":
            status = self._respond(request).status if fault.process else None
            self._log_request(n, request, status, kind)
            _cut(handler, reset=False)
            self.stop()
            return
        if fault is not None and fault.kind == "status":
            response = self._fault_response(fault)
        else:
            response = self._respond(request)
        self._log_request(n, request, response.status, kind)
        if fault is not None and fault.kind == "cut":
            _cut(handler, reset=fault.reset)
        elif fault is not None and fault.kind == "hang" and self._halt.wait(fault.seconds):
            _cut(handler, reset=False)  # stopped while hanging: the server just goes away
        else:
            _write(handler, response)

    def _log_request(
        self, n: int, request: _Request, status: int | None, fault: str | None
    ) -> None:
        entry = SeenRequest(n, request.method, request.path, status, fault, self.clock())
        with self._lock:
            self._log.append(entry)

    def _fault_response(self, fault: Fault) -> _Response:
        headers: list[tuple[str, str]] = []
        now = self.clock()
        if fault.status == 429:
            wait = 1.0 if fault.retry_after is None else fault.retry_after
            reset_at = fault.reset_at if fault.reset_at is not None else math.ceil(now + wait)
            wait = wait if fault.retry_after is not None else max(0.0, reset_at - now)
            headers += [
                ("Retry-After", str(math.ceil(wait))),
                ("X-RateLimit-Limit", str(self.rate_limit)),
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset", str(reset_at)),
            ]
        elif fault.retry_after is not None:
            headers.append(("Retry-After", str(math.ceil(fault.retry_after))))
        return _status_error(fault.status, headers)

    def _respond(self, request: _Request) -> _Response:
        refusal = self._authenticate(request.headers)
        if refusal is not None:
            return refusal
        if request.refusal is not None:
            return request.refusal
        handler, match, allowed = self._route(request.method, request.path)
        if handler is None or match is None:
            return _status_error(405 if allowed else 404)
        try:
            return handler(request, match)
        except _BadRequestError as exc:
            return _error_response(400, exc.errors)

    def _authenticate(self, headers: dict[str, str]) -> _Response | None:
        scheme, _, key = headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or not key:
            return _status_error(401)
        if key in self.forbidden_keys:
            return _status_error(403)
        return None if secrets.compare_digest(key, self.api_key) else _status_error(401)

    def _route(
        self, method: str, path: str
    ) -> tuple[_RouteHandler | None, re.Match[str] | None, bool]:
        """(handler, match, whether the path exists for some other method)."""
        path_exists = False
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if route_method == method:
                return handler, match, True
            path_exists = True
        return None, None, path_exists

    def _build_routes(self) -> list[tuple[str, re.Pattern[str], _RouteHandler]]:
        scheduled = r"/v3/user/scheduled_sends/(?P<batch_id>[^/]+)"
        table: list[tuple[str, str, _RouteHandler]] = [
            ("POST", MAIL_SEND_PATH, self._post_mail_send),
            ("POST", r"/v3/mail/batch", self._post_batch),
            ("GET", r"/v3/mail/batch/(?P<batch_id>[^/]+)", self._get_batch),
            ("POST", r"/v3/user/scheduled_sends", self._post_scheduled_send),
            ("GET", r"/v3/user/scheduled_sends", self._list_scheduled_sends),
            ("GET", scheduled, self._get_scheduled_send),
            ("PATCH", scheduled, self._patch_scheduled_send),
            ("DELETE", scheduled, self._delete_scheduled_send),
            ("GET", r"/v3/suppression/(?P<kind>[a-z_]+)", self._list_suppressions),
            ("GET", r"/v3/asm/groups", self._list_groups),
            ("GET", r"/v3/asm/groups/(?P<group_id>\d+)/suppressions", self._list_group_emails),
        ]
        return [(method, re.compile(pattern), handler) for method, pattern, handler in table]

    # ----------------------------------------------------------------- mail send

    def _post_mail_send(self, request: _Request, _match: re.Match[str]) -> _Response:
        now = self.clock()
        try:
            body = _parse_json(request.body)
        except _BadRequestError as exc:
            return self._reject(None, exc.errors, request, now)
        errors = self._validate_mail(body, now)
        if errors:
            return self._reject(body, errors, request, now)
        sandbox = _sandbox_enabled(body)
        message_id = None if sandbox else _new_id()
        addresses = [a for p in body["personalizations"] for a in p["to"]]
        dropped = tuple((a["email"].lower(), DROP_INVALID) for a in addresses if _dropped(a))
        record = AcceptedRequest(
            body=body if self.keep_bodies else None,
            recipients=tuple(a["email"].lower() for a in addresses if not _dropped(a)),
            message_id=message_id,
            headers=request.headers,
            time=now,
            sandbox=sandbox,
            dropped=dropped,
        )
        with self._lock:
            (self._sandboxed if sandbox else self._accepted).append(record)
        if message_id is None:
            return _Response(200)
        return _Response(202, headers=(("X-Message-Id", message_id),))

    def validation_errors(self, body: Any) -> list[ApiError]:
        """What POST /v3/mail/send would answer 400 with for `body` (empty: accepted)."""
        return self._validate_mail(body, self.clock())

    @staticmethod
    def would_drop(body: dict[str, Any]) -> list[str]:
        """The `to` addresses of an accepted `body` that SendGrid would then drop."""
        return [
            a["email"].lower() for p in body["personalizations"] for a in p["to"] if _dropped(a)
        ]

    def _validate_mail(self, body: Any, now: float) -> list[ApiError]:
        errors: list[ApiError] = []
        if not self._quick_check(body):
            # Only invalid bodies pay for the full jsonschema run; it names every problem.
            for error in self._validator.iter_errors(body):
                errors += _schema_errors(error)
        with self._lock:
            context = _RuleContext(now, frozenset(self._batches), frozenset(self._groups))
        errors += _extra_rule_errors(body, context)
        errors += self._refused_address_errors(body)
        return _dedupe(errors)

    def _refused_address_errors(self, body: Any) -> list[ApiError]:
        with self._lock:
            refused = self._refused
        if not refused or not isinstance(body, dict):
            return []
        return [
            ApiError("Does not contain a valid address.", f"personalizations.{i}.to.{j}.email")
            for i, entry in enumerate(body.get("personalizations") or [])
            if isinstance(entry, dict)
            for j, to in enumerate(entry.get("to") or [])
            if isinstance(to, dict) and str(to.get("email", "")).lower() in refused
        ]

    def _reject(
        self, body: Any, errors: Sequence[ApiError], request: _Request, now: float
    ) -> _Response:
        record = RejectedRequest(body, tuple(errors), request.headers, now)
        with self._lock:
            self._rejected.append(record)
        return _error_response(400, errors)

    # ----------------------------------------------------------------- batches & scheduled sends

    def _post_batch(self, _request: _Request, _match: re.Match[str]) -> _Response:
        return _json_response(201, {"batch_id": self.create_batch()})

    def _get_batch(self, _request: _Request, match: re.Match[str]) -> _Response:
        batch_id = match["batch_id"]
        with self._lock:
            known = batch_id in self._batches
        if not known:
            return _error_response(400, [ApiError("invalid batch id")])
        return _json_response(200, {"batch_id": batch_id})

    def _post_scheduled_send(self, request: _Request, _match: re.Match[str]) -> _Response:
        body = _parse_json(request.body)
        batch_id = body.get("batch_id") if isinstance(body, dict) else None
        status = _scheduled_status(body)
        with self._lock:
            if batch_id not in self._batches:
                raise _BadRequestError([ApiError("invalid batch id", "batch_id")])
            if batch_id in self._scheduled:
                already = "This batch already has a status; use PATCH to change it."
                raise _BadRequestError([ApiError(already, "batch_id")])
            if len(self._scheduled) >= 10:
                raise _BadRequestError(
                    [ApiError("You can't pause or cancel more than 10 batches at one time.")]
                )
            self._set_scheduled(cast(str, batch_id), status)
        return _json_response(201, {"batch_id": batch_id, "status": status})

    def _set_scheduled(self, batch_id: str, status: str) -> None:
        self._scheduled[batch_id] = status  # caller holds self._lock
        if status == "cancel":
            self._cancellations.append(batch_id)

    def _list_scheduled_sends(self, _request: _Request, _match: re.Match[str]) -> _Response:
        rows = [{"batch_id": b, "status": s} for b, s in self.scheduled_sends.items()]
        return _json_response(200, rows)

    def _get_scheduled_send(self, _request: _Request, match: re.Match[str]) -> _Response:
        status = self.scheduled_sends.get(match["batch_id"])
        rows = [] if status is None else [{"batch_id": match["batch_id"], "status": status}]
        return _json_response(200, rows)

    def _patch_scheduled_send(self, request: _Request, match: re.Match[str]) -> _Response:
        status = _scheduled_status(_parse_json(request.body))
        with self._lock:
            if match["batch_id"] not in self._scheduled:
                return _status_error(404)
            self._set_scheduled(match["batch_id"], status)
        return _Response(204)

    def _delete_scheduled_send(self, _request: _Request, match: re.Match[str]) -> _Response:
        with self._lock:
            if self._scheduled.pop(match["batch_id"], None) is None:
                return _status_error(404)
        return _Response(204)

    # ----------------------------------------------------------------- suppressions

    def _list_suppressions(self, request: _Request, match: re.Match[str]) -> _Response:
        kind = match["kind"]
        if kind not in SUPPRESSION_LISTS:
            return _status_error(404)
        page = _parse_page(request.query, self.default_page_size)
        with self._lock:
            rows = [dict(row) for row in self._suppressions[kind]]
        return _json_response(200, _page_rows(rows, page))

    def _list_groups(self, _request: _Request, _match: re.Match[str]) -> _Response:
        with self._lock:
            rows = [
                {
                    "id": group_id,
                    "name": group.name,
                    "description": group.description,
                    "is_default": group.is_default,
                    "unsubscribes": len(group.emails),
                }
                for group_id, group in self._groups.items()
            ]
        return _json_response(200, rows)

    def _list_group_emails(self, request: _Request, match: re.Match[str]) -> _Response:
        # The spec documents no paging here; limit/offset are honoured anyway for symmetry.
        page = _parse_page(request.query, sys.maxsize)
        with self._lock:
            group = self._groups.get(int(match["group_id"]))
            emails = list(group.emails) if group is not None else None
        if emails is None:
            return _status_error(404)
        return _json_response(200, emails[page.offset : page.offset + page.limit])


def _dropped(address: dict[str, Any]) -> bool:
    """What SendGrid does after a 202 with a `to.name` holding `,` or `;` outside a quoted
    string: it reads them as address separators and drops the recipient as "Invalid"
    (its v3 Mail Send limitations; sendgrid-python #291)."""
    name = address.get("name")
    if not isinstance(name, str) or ("," not in name and ";" not in name):
        return False
    return not _QUOTED_NAME.fullmatch(name)


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise _BadRequestError([ApiError("Bad Request: the body is not valid JSON.")]) from exc


def _scheduled_status(body: Any) -> str:
    status = body.get("status") if isinstance(body, dict) else None
    if status not in ("cancel", "pause"):
        raise _BadRequestError([ApiError("status must be either cancel or pause.", "status")])
    return cast(str, status)


def _sandbox_enabled(body: dict[str, Any]) -> bool:
    settings = body.get("mail_settings") or {}
    return bool((settings.get("sandbox_mode") or {}).get("enable") is True)


# --------------------------------------------------------------------------- CLI


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.sendgrid_server",
        description="Serve a SendGrid v3 look-alike for manual tests and benchmarks.",
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--api-key", default="SG.test")
    parser.add_argument("--asm-group", type=int, action="append", default=[], metavar="ID")
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    parser.add_argument(
        "--no-bodies", action="store_true", help="keep only recipients (long benchmarks)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the base URL, then serve until SIGINT or SIGTERM."""
    args = _parse_args(argv)
    if spec_dir() is None:
        print(spec_missing_reason(), file=sys.stderr)
        return 2

    def terminate(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    server = FakeSendGrid(
        args.api_key,
        host=args.host,
        port=args.port,
        asm_groups=args.asm_group,
        max_body_bytes=args.max_body_bytes,
        keep_bodies=not args.no_bodies,
    )
    with server:
        print(server.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
        print(
            f"requests={server.requests_seen} accepted={len(server.accepted)}"
            f" rejected={len(server.rejected)}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
