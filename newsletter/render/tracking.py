"""Campaign (UTM) parameters on the digest's item links, when `links.utm` is configured.

Only the links editors wrote into the digest (`items[].url`: the "Read at …" link and
its plain-text twin) are tracked. The template filter `tracked` looks a URL up in the
issue's map of item links and returns any other URL unchanged, so the unsubscribe link,
"view in browser", the publication's own links and the List-Unsubscribe header (built
in newsletter.message, never from this map) can never carry parameters, whatever a
template does.

The URL is changed by appending text only: the scheme, host, path, the existing query
(its order and its own percent-encoding) and the fragment stay byte for byte as the
editor wrote them. A parameter the link already has is left alone (the editor's own
`utm_source` wins; the link never holds two of one name). The result is escaped where
it lands, by the templates' usual path (autoescaping in the HTML, none in plain text).
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

from newsletter.config import Utm
from newsletter.digest.models import Digest
from newsletter.validation import MAX_UNBREAKABLE_OCTETS, html_octets


def add_parameters(url: str, parameters: Mapping[str, str]) -> str:
    """`url` with `parameters` (name → value, percent-encoded here) appended to its
    query, before its fragment, skipping any name the query already has (compared
    after percent-decoding, as analytics tools read it). Nothing else changes."""
    head, hash_mark, fragment = url.partition("#")
    query = head.partition("?")[2]
    present = {name for name, _ in parse_qsl(query, keep_blank_values=True)}
    added = "&".join(
        f"{quote(name, safe='')}={quote(value, safe='')}"
        for name, value in parameters.items()
        if name not in present
    )
    if not added:
        return url
    if "?" not in head:
        joint = "?"
    elif not query or query.endswith("&"):  # "x?" and "x?a=1&" need no joint
        joint = ""
    else:
        joint = "&"
    return f"{head}{joint}{added}{hash_mark}{fragment}"


@dataclass(frozen=True)
class ItemLinks:
    """Each item URL of an issue → the URL to show (tracked, or as written)."""

    links: dict[str, str]
    warnings: tuple[str, ...] = ()


def item_links(digest: Digest, utm: Utm | None) -> ItemLinks:
    """The item links of `digest` with `utm`'s parameters (none when `utm` is None).

    A link that the parameters would make longer than one unbreakable line of the email
    may hold (newsletter.validation.MAX_UNBREAKABLE_OCTETS, as written in HTML) goes out
    as written, with a warning: an untracked link is better than a broken one."""
    if utm is None:
        return ItemLinks({})
    parameters = utm.parameters(digest.date)
    links: dict[str, str] = {}
    warnings: list[str] = []
    for index, item in enumerate(digest.items):
        if item.url is None or item.url in links:
            continue
        tracked = add_parameters(item.url, parameters)
        octets = html_octets(tracked)
        if octets > MAX_UNBREAKABLE_OCTETS:
            warnings.append(
                f"items[{index}].url: sent without the tracking parameters: with them the "
                f"link is {octets} octets as written in HTML, and at most "
                f"{MAX_UNBREAKABLE_OCTETS} fit one line of the email"
            )
            tracked = item.url
        links[item.url] = tracked
    return ItemLinks(links, tuple(warnings))


def shown_item_links(digest: Digest, utm: Utm | None) -> tuple[str, ...]:
    """Each item link as the email shows it (with `utm`'s parameters where they fit):
    the only links SendGrid's click tracking may rewrite (`untracked_anchors`)."""
    links = item_links(digest, utm).links
    shown = (links.get(item.url, item.url) for item in digest.items if item.url)
    return tuple(dict.fromkeys(shown))


_ANCHOR = re.compile(r"<a\b[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_MARKED = re.compile(r"\bclicktracking\s*=", re.IGNORECASE)
UNTRACKED = ' clicktracking="off"'


def untracked_anchors(markup: str, tracked: Collection[str]) -> str:
    """`markup` with SendGrid's `clicktracking="off"` on every anchor whose link is not
    one of `tracked` (the item links): the unsubscribe and preferences links, "view in
    browser" and the publication's own links are never rewritten through SendGrid's
    redirect, whatever a template holds (SendGrid: "Click tracking", per-link opt-out).
    An anchor already saying `clicktracking` is left as it is."""
    wanted = set(tracked)

    def mark(match: re.Match[str]) -> str:
        tag = match.group(0)
        href = _HREF.search(tag)
        value = html.unescape(next(g for g in href.groups() if g is not None)) if href else None
        if (value is not None and value in wanted) or _MARKED.search(tag):
            return tag
        return tag[:2] + UNTRACKED + tag[2:]

    return _ANCHOR.sub(mark, markup)
