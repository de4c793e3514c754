"""Parsing `--at "YYYY-MM-DD HH:MM ZONE"` for scheduled sends."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from newsletter.errors import InputError

MAX_AHEAD = dt.timedelta(hours=72)  # SendGrid's limit for send_at
_AT = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{1,2}:\d{2}) (\S+)$")
_OFFSET = re.compile(r"^(?:UTC)?([+-])(\d{2}):?(\d{2})$")


def _zone(name: str) -> dt.tzinfo:
    if name.upper() in {"UTC", "Z", "GMT"}:
        return dt.UTC
    offset = _OFFSET.match(name)
    if offset:
        sign = 1 if offset.group(1) == "+" else -1
        delta = dt.timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3)))
        return dt.timezone(sign * delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise InputError(
            f"--at: unknown time zone {name!r}",
            hint="use an IANA name such as Asia/Almaty, UTC, or an offset such as +05:00",
        ) from err


def parse_at(value: str, now: dt.datetime) -> dt.datetime:
    """The moment `value` names, checked to be in the future and within 72 hours."""
    match = _AT.match(value.strip())
    if not match:
        raise InputError(
            f"--at: {value!r} is not 'YYYY-MM-DD HH:MM ZONE'",
            hint='for example --at "2025-09-15 09:00 Asia/Almaty"',
        )
    day, clock, zone = match.groups()
    try:
        naive = dt.datetime.fromisoformat(f"{day}T{clock.zfill(5)}")
    except ValueError as err:
        raise InputError(f"--at: {value!r} is not a real date and time") from err
    moment = naive.replace(tzinfo=_zone(zone))
    if moment <= now:
        raise InputError(f"--at: {value} is in the past")
    if moment - now > MAX_AHEAD:
        raise InputError(f"--at: {value} is more than 72 hours ahead (SendGrid's limit)")
    return moment.astimezone(dt.UTC)
