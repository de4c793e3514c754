"""What the rules need to know about the rendered HTML, read once with the standard
library's tolerant parser: the document's language, its images, its links, its text."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass(frozen=True)
class Image:
    src: str
    alt: str | None  # None: no alt attribute at all
    decorative: bool  # role="presentation"/"none" or aria-hidden="true": alt="" is right


@dataclass(frozen=True)
class HtmlFacts:
    lang: str | None  # <html lang>, None when absent
    images: tuple[Image, ...]
    links: tuple[str, ...]  # every <a href>, in document order
    text: str  # the text a reader sees, character references resolved


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang: str | None = None
        self.images: list[Image] = []
        self.links: list[str] = []
        self.parts: list[str] = []
        self._hidden = 0  # inside <style>, <script>, <title>, <head>: not shown

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "html" and self.lang is None:
            self.lang = values.get("lang")
        elif tag == "img":
            decorative = values.get("role") in ("presentation", "none") or (
                values.get("aria-hidden") == "true"
            )
            alt = values.get("alt")
            self.images.append(Image(values.get("src", ""), alt, decorative))
        elif tag == "a" and "href" in values:
            self.links.append(values["href"].strip())
        elif tag in ("style", "script", "title", "head"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "title", "head") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def read_html(html: str) -> HtmlFacts:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return HtmlFacts(
        lang=reader.lang,
        images=tuple(reader.images),
        links=tuple(reader.links),
        text=" ".join(reader.parts),
    )
