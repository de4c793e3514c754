"""An HTML page or fragment as blocks, parsed with lxml (libxml2's HTML parser, already
installed with premailer). The only module that imports lxml.

Headings, paragraphs, list items, `<blockquote>` and `<br>` end a block; scripts,
styles, the `<head>` and comments are left out; entities are decoded (`&nbsp;` stays a
non-breaking space). Nothing is fetched: no network, no external entities.
"""

from __future__ import annotations

from lxml import etree
from lxml import html as lxml_html

from newsletter.errors import ImportTextError
from newsletter.importer.blocks import Block, Kind, normalise

_HEADINGS = frozenset({"h2", "h3", "h4", "h5", "h6"})
_BLOCKS = frozenset(
    {"p", "div", "h1", "blockquote", "li", "ul", "ol", "dl", "dt", "dd", "section", "article"}
    | {"main", "header", "footer", "aside", "figure", "figcaption", "table", "tr", "td", "th"}
    | {"pre", "hr", "address", "body", "center", "nav", "caption"}
    | _HEADINGS
)
_SKIPPED = frozenset({"head", "script", "style", "template", "noscript", "svg", "math"})
_SKIPPED |= frozenset({"iframe", "object", "select", "textarea", "button"})


class _Collector:
    """Text gathered between block boundaries, with the enclosing block elements."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.blocks: list[Block] = []
        self.open: list[str] = []
        self.parts: list[str] = []

    def add(self, text: str | None) -> None:
        if text:
            self.parts.append(text)

    def flush(self) -> None:
        number = len(self.blocks) + 1
        text = normalise("".join(self.parts), f"{self.source}: block {number}")
        self.parts = []
        if text:
            self.blocks.append(Block(text, self._kind(), number))

    def _kind(self) -> Kind:
        if "blockquote" in self.open:
            return Kind.QUOTE
        if "h1" in self.open:
            return Kind.TITLE
        if _HEADINGS.intersection(self.open):
            return Kind.HEADING
        return Kind.PARAGRAPH


def html_blocks(markup: str, source: str) -> list[Block]:
    """The blocks of an HTML page or fragment. ImportTextError when lxml cannot read it
    (e.g. it holds no element at all)."""
    parser = lxml_html.HTMLParser(
        encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True
    )
    try:
        root = lxml_html.document_fromstring(markup.encode("utf-8"), parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as err:
        raise ImportTextError(f"{source}: not readable as HTML ({err})") from err
    collector = _Collector(source)
    skipping = 0
    # iterwalk, not recursion: a page nested thousands deep cannot exhaust the stack.
    for event, element in etree.iterwalk(root, events=("start", "end")):
        tag = element.tag if isinstance(element.tag, str) else ""
        tag = tag.lower()
        if event == "start":
            skipping += tag in _SKIPPED
            if skipping:
                continue
            if tag in _BLOCKS or tag == "br":
                collector.flush()
            if tag in _BLOCKS:
                collector.open.append(tag)
            collector.add(element.text)
            continue
        if tag in _SKIPPED:
            skipping -= 1
        elif skipping:
            continue
        elif tag in _BLOCKS:
            collector.flush()
            collector.open.pop()
        if not skipping:
            collector.add(element.tail)
    collector.flush()
    return collector.blocks
