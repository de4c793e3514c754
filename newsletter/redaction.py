"""One redaction for every log line and message that can carry a path or a URL.

Logs travel further than the database (to journald, to a log service, into bug
reports), so what they must never hold is removed before a record reaches any
handler:

- a subscriber's unsubscribe token: anyone holding it can unsubscribe that reader.
  Tokens are removed from `/unsubscribe/…`, `/resubscribe/…`, `/preferences/…`,
  `/confirm/…` and `/confirm-address/…` paths (the whole
  rest of the path: a mangled link may split the token over segments), from query
  parameters named like secrets (`token`, `key`, `password`, …) and wherever the
  token's own shape (`<id>.<43 base64url characters>`, see newsletter.tokens), or
  its signature alone, appears in free text;
- credentials in URLs: `scheme://user:password@host/…` keeps the user and the host
  (`scheme://user:***@host/…`); a password holding an unencoded `@` is hidden whole,
  and so is one that lost its host (`postgresql://user:PASSWORD/db`, where a URL
  parser would take the password for a port).

`redact` is the function; `RedactingFilter` applies it to every log record (its
message, arguments and formatted traceback); `redacting_logger` is how modules
get a logger that never emits a token, whatever handler is attached. The uvicorn
log configuration (newsletter.web.server) puts the same filter on its handlers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, Final

HIDDEN: Final = "…"
HIDDEN_PASSWORD: Final = "***"  # noqa: S105 - the mask, not a password

# A token in a link path: the rest of the path, every segment of it. A link mangled on
# its way (`/unsubscribe/17/<signature>`, a slash appended) still holds the signature.
_TOKEN_PATH = re.compile(
    r"(/(?:unsubscribe|resubscribe|preferences|confirm-address|confirm)/)(?=[^?#\s\"'<>])[^?#\s\"'<>]+"
)
# Query parameters whose value is a secret, whatever the path.
_SECRET_QUERY = re.compile(
    r"([?&;](?:token|access_token|api_key|apikey|key|secret|password|passwd|pwd|signature|sig)=)"
    r"[^&;#\s\"'<>]+",
    re.IGNORECASE,
)
# The shape of a token made by newsletter.tokens, anywhere in free text, its dot maybe
# percent-encoded.
_BARE_TOKEN = re.compile(r"(?<![\w.-])[0-9]{1,25}(?:\.|%2[Ee])[A-Za-z0-9_-]{43}(?![\w-])")
# A token's signature on its own (43 base64url characters: an HMAC-SHA256): subscriber
# ids are small and guessable, so the signature alone is as good as the token.
_SIGNATURE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")
# scheme:// then the rest of the URL up to whitespace or a quote.
_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]{0,30}://)([^\s\"'<>]*)")


def _split_authority(rest: str, start: int = 0) -> tuple[str, str]:
    """`rest` cut where the authority ends: the first '/', '?' or '#' from `start`."""
    stops = [found for found in (rest.find(c, start) for c in "/?#") if found != -1]
    end = min(stops, default=len(rest))
    return rest[:end], rest[end:]


def _hide_credentials(rest: str) -> str:
    """`rest` (what follows `scheme://`) with any password hidden; may hide more than
    the password (when a query holds an '@'), never less."""
    if "@" in rest:
        # The userinfo ends at the last '@': a password may hold '@' or '/' unencoded.
        authority, path = _split_authority(rest, rest.rfind("@"))
        userinfo, _, host = authority.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        hidden = f"{user}:{HIDDEN_PASSWORD}" if colon else HIDDEN_PASSWORD
        return f"{hidden}@{host}{path}"
    authority, path = _split_authority(rest)
    if authority.startswith("["):  # an IPv6 literal: [::1]:8000
        return rest
    host, colon, port = authority.partition(":")
    if not colon or not port or port.isdigit():
        return rest
    # `user:PASSWORD/db` with the host forgotten parses as host:port; a port is digits.
    return f"{host}:{HIDDEN_PASSWORD}{path}"


def _url(match: re.Match[str]) -> str:
    return match.group(1) + _hide_credentials(match.group(2))


def redact(text: str) -> str:
    """`text` with every unsubscribe token and URL password replaced (see the module doc)."""
    text = _URL.sub(_url, text)
    text = _TOKEN_PATH.sub(r"\1" + HIDDEN, text)
    text = _SECRET_QUERY.sub(r"\1" + HIDDEN, text)
    text = _BARE_TOKEN.sub(HIDDEN, text)
    return _SIGNATURE.sub(HIDDEN, text)


class RedactingFilter(logging.Filter):
    """Redacts a log record in place before any handler formats it.

    The arguments are redacted one by one, and the message between its %-placeholders
    (so it still formats), so formatters that take the arguments apart (uvicorn's access
    log) still work. Should the assembled message still show a token or a password (one
    split over two arguments), the record carries the formatted, redacted text instead.
    uvicorn's unredacted `color_message` copy is dropped. A traceback is formatted here,
    redacted, and cached on the record, where `logging.Formatter` looks for it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.args = _redact_args(record.args)
        record.msg = _redact_template(record.msg) if record.args else _redact_arg(record.msg)
        if record.args and record.name not in _UNPACKED_ARGS:
            _redact_assembled(record)
        # uvicorn's coloured copy of the message replaces it on a terminal: it was never
        # redacted, so it goes (the line is then printed without colours).
        record.__dict__.pop("color_message", None)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# A %-format placeholder (`%s`, `%d`, `%(name)s`, `%-8.3f`, `%%`): never a secret, and a
# message whose placeholders were redacted away no longer formats ("%s://%s:%d" would
# read as a URL whose password is "%d").
_PLACEHOLDER = re.compile(
    r"%(?:\([^)]*\))?[#0+ -]*(?:\*|[0-9]+)?(?:\.(?:\*|[0-9]+))?[hlL]?[diouxXeEfFgGcrsa%]"
)
# Loggers whose formatter takes the arguments apart (uvicorn's AccessFormatter unpacks
# client, method, path, version, status): their arguments must stay a tuple.
_UNPACKED_ARGS: Final = frozenset({"uvicorn.access"})


def _redact_template(msg: Any) -> Any:
    """A format string redacted between its placeholders, which are kept as they are."""
    if not isinstance(msg, str):
        return _redact_arg(msg)
    pieces: list[str] = []
    end = 0
    for placeholder in _PLACEHOLDER.finditer(msg):
        pieces += [redact(msg[end : placeholder.start()]), placeholder.group()]
        end = placeholder.end()
    return "".join([*pieces, redact(msg[end:])])


def _redact_assembled(record: logging.LogRecord) -> None:
    """A token or password may only take shape once the message is formatted (`"%s.%s"`
    with an id and a signature): then the record carries the redacted text, formatted."""
    try:
        text = record.getMessage()
    except (TypeError, ValueError, KeyError):
        return  # a broken logging call: logging itself reports it, with the redacted parts
    hidden = redact(text)
    if hidden != text:
        record.msg, record.args = hidden, ()


def _redact_arg(value: Any) -> Any:
    """A string redacted; any other value kept as it is unless its text would carry a
    token or password (an exception, a URL object), then its redacted text."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    hidden = redact(text)
    return value if hidden == text else hidden


def _redact_args(args: Any) -> Any:
    if isinstance(args, tuple):
        return tuple(_redact_arg(value) for value in args)
    if isinstance(args, Mapping):
        return {key: _redact_arg(value) for key, value in args.items()}
    return args


_FILTER: Final = RedactingFilter()


def redacting_logger(name: str) -> logging.Logger:
    """The logger `name`, with the redacting filter on it (added once).

    A logger's filters see every record logged through it, before propagation, so
    no handler (pytest's, the root's, uvicorn's) can receive the unredacted text."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
