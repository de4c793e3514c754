"""Where a link may point: an absolute http(s) URL whose host every reader can reach.

The deny list (config.yaml `check.deny_hosts`) holds names (the name and its
subdomains), suffixes (`.test`: any host under it) and IP networks; with
`check.deny_private_addresses` every IP address that is not globally reachable
(private, loopback, link-local, shared, reserved: `ipaddress`'s `is_global`, after
RFC 6890) is refused however it is written: `127.1`, `0x7f.0.0.1`, `2130706433` and
`[::ffff:127.0.0.1]` are all 127.0.0.1 to a browser (the WHATWG URL standard's IPv4
parser), so they are read as it reads them.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from functools import lru_cache
from urllib.parse import urlsplit

from newsletter.config import Check

_NUMERIC_HOST = re.compile(r"^[0-9a-fx.]+$")
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _as_ip(host: str) -> IpAddress | None:
    """The address a browser connects to for `host`, if `host` is an IP address."""
    try:
        address: IpAddress = ipaddress.ip_address(host)
    except ValueError:
        if not (_NUMERIC_HOST.match(host) and any(c.isdigit() for c in host)):
            return None
        try:  # the shorthand forms browsers accept: 127.1, 0x7f.1, 2130706433, 0177.0.0.1
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def denied_host(host: str, rules: Check) -> str | None:
    """Why no link may point at `host` (lower-case, without brackets), or None."""
    host = host.rstrip(".")
    address = _as_ip(host)
    if address is not None:
        if rules.deny_private_addresses and not address.is_global:
            return f"{address} is not a public address (private, loopback or link-local)"
        for entry in rules.deny_hosts:
            network = _network(entry)
            if network is not None and address.version == network.version and address in network:
                return f"{address} is in {entry}, on the deny list (check.deny_hosts)"
        return None
    for entry in rules.deny_hosts:
        suffix = entry if entry.startswith(".") else "." + entry
        if host == entry.lstrip(".") or host.endswith(suffix):
            return f"{host} is on the deny list ({entry}, check.deny_hosts)"
    return None


@lru_cache(maxsize=256)
def _network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None


def link_problem(url: str, rules: Check) -> str | None:
    """What is wrong with `url` as a link in the email, or None when a reader can follow it."""
    if _UNSAFE.search(url):
        return f"{url!r} contains spaces or control characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # a malformed [IPv6] host or port
        return f"{url!r} is not a well-formed URL"
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return f"{url!r} is not an absolute http:// or https:// URL"
    if not host:
        return f"{url!r} has no host"
    return denied_host(host, rules)
