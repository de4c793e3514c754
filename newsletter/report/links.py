"""Which digest item a clicked URL belongs to.

SendGrid reports the URL a reader clicked as the message had it: with the campaign
(UTM) parameters `links.utm` added (newsletter.render.tracking) and any fragment the
editor wrote. A click belongs to the item whose `url` is the same link once both are
normalised: scheme and host in lower case, the default port dropped, percent-encoding
spelled one way, every `utm_*` parameter and the fragment removed (RFC 3986 §6.2.2
syntax-based normalisation, plus the parameters that only say where a click came from).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 3986's unreserved and sub-delimiter characters, and those a path or query may
# hold unencoded: one spelling for "%7E" and "~", "%2f" and "%2F".
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def normalise(url: str) -> str:
    """`url` in the form click attribution compares: lower-case scheme and host, no
    default port, one percent-encoding, no `utm_*` parameter, no fragment. A string
    that is not a URL comes back stripped and otherwise unchanged."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    path = quote(unquote(parts.path), safe=_PATH_SAFE) or "/"
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not name.lower().startswith("utm_")
    ]
    return urlunsplit((scheme, host, path, urlencode(query, quote_via=quote), ""))


def item_positions(urls: Iterable[str | None]) -> dict[str, int]:
    """Normalised URL → the 1-based position of the first item linking to it (an
    item without a link has none; a second item with the same link gets no clicks:
    a click cannot tell the two apart)."""
    positions: dict[str, int] = {}
    for position, url in enumerate(urls, start=1):
        if url is not None:
            positions.setdefault(normalise(url), position)
    return positions


def attribute(clicked: Iterable[str], positions: Mapping[str, int]) -> dict[str, int | None]:
    """Each clicked URL → the position of the item it belongs to, or None for a link
    that is no item's (the publication's site, the web version)."""
    return {url: positions.get(normalise(url)) for url in clicked}
