"""The guards of the web's state-changing forms: a signed form token and an Origin check.

A form token is ``<issued>.<signature>``: the time the form was shown (whole
seconds since the epoch) and the HMAC-SHA256 of it and the form's purpose under
NEWSLETTER_SECRET. Only this server can make one, one made for another form is
worthless here, and it says how long the form was open (the sign-up's minimum fill
time). It is refused after `MAX_FORM_AGE`. The Origin check refuses a post whose
`Origin` (or, without one, `Referer`) names another site: browsers send Origin with
every cross-site POST (Fetch standard), so a page elsewhere cannot submit our forms
in a reader's name.
"""

from __future__ import annotations

import base64
import hmac
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import urlsplit

from newsletter.errors import FormRefusedError
from newsletter.secrets import Secret

MAX_FORM_AGE: Final = timedelta(hours=2)
_SHAPE = re.compile(r"^([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{43})$")


def _signature(issued: int, purpose: str, secret: Secret) -> str:
    message = f"newsletter/form/{purpose}/v1/{issued}".encode()
    digest = hmac.digest(secret.reveal().encode("utf-8"), message, "sha256")
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def csrf_token(secret: Secret, purpose: str, now: datetime) -> str:
    """The token to put in a form of `purpose` shown at `now` (aware datetime)."""
    issued = int(now.timestamp())
    return f"{issued}.{_signature(issued, purpose, secret)}"


def form_age(
    token: str,
    secret: Secret,
    purpose: str,
    now: datetime,
    *,
    max_age: timedelta = MAX_FORM_AGE,
) -> float:
    """Seconds since the form holding `token` was shown; FormRefusedError (403) if the
    token is missing, malformed, not ours, for another form, or older than `max_age`."""
    match = _SHAPE.fullmatch(token.strip())
    if match is None:
        raise FormRefusedError("the form is incomplete or was not made by this site")
    issued = int(match.group(1))
    if not hmac.compare_digest(_signature(issued, purpose, secret), match.group(2)):
        raise FormRefusedError("the form was not made by this site")
    age = now.timestamp() - issued
    if age > max_age.total_seconds() or age < -60:  # a minute of clock skew at most
        raise FormRefusedError("the form has expired; please fill it in again")
    return max(age, 0.0)


def check_csrf(
    token: str,
    secret: Secret,
    purpose: str,
    now: datetime,
    *,
    max_age: timedelta = MAX_FORM_AGE,
) -> None:
    """FormRefusedError (403) unless `token` is a genuine token of `purpose`, made at most
    `max_age` ago (a form's page may allow longer: a reader's preference page is often
    left open)."""
    form_age(token, secret, purpose, now, max_age=max_age)


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL, lower-cased; None if it has no host."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    try:
        port = parts.port
    except ValueError:
        return None
    suffix = f":{port}" if port and port != default else ""
    return f"{parts.scheme.lower()}://{host.lower()}{suffix}"


def check_origin(
    origin: str | None,
    referer: str | None,
    allowed: Iterable[str],
    *,
    allow_null: bool = False,
) -> None:
    """FormRefusedError (403) when a post comes from another site: its Origin header
    (or, without one, its Referer's origin) is not one of `allowed` (origins as
    `origin_of` gives them). A post with neither header (a non-browser client) passes:
    the form token still guards it. `Origin: null` is what a browser sends from a page
    served with `Referrer-Policy: no-referrer` (and from sandboxed frames): refused
    unless `allow_null`, for forms whose page must not leak its URL (a token in it)."""
    accepted = set(allowed)
    claimed = origin if origin is not None else referer
    if claimed is None or (allow_null and claimed == "null"):
        return
    if origin_of(claimed) not in accepted:
        raise FormRefusedError("this form was sent from another site")
