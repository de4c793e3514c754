"""Digest text is untrusted: it reaches the email as literal text, never as markup or code."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.config import Config, load_config
from newsletter.digest import parse_digest
from newsletter.errors import DigestInvalidError
from newsletter.render import render_issue
from tests.conftest import MINIMAL_DIGEST, REPO

HOSTILE = [
    "</mj-text><mj-raw><script>x()</script></mj-raw>",
    "{{ 7*7 }} {% for x in range(3) %}loop{% endfor %} ${7*7} <%= 7*7 %>",
    '"><img src=x onerror=alert(1)>',
    "<!--[if mso]><b>mso</b><![endif]--> <![CDATA[x]]> &amp; &lt;",
    "</mjml><mj-style>body{display:none}</mj-style>",
    "&{<x-evil>}",  # mjml-python copied this raw into the title's aria-label
    'a" onmouseover="x()" <x-evil>',
]
TEMPLATE_TAGS = {
    "html", "head", "title", "meta", "style", "body", "div", "table", "tbody", "tr", "td",
    "h1", "h2", "p", "a", "img", "blockquote", "br", "span", "o:officedocumentsettings",
    "o:allowpng", "o:pixelsperinch", "xml", "noscript",
}  # fmt: skip


class TextAndTags(HTMLParser):
    """The document's visible text and its tag names, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: set[str] = set()
        self.attrs: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.update(name for name, _ in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def flat_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def parsed(html: str) -> TextAndTags:
    parser = TextAndTags()
    parser.feed(html)
    return parser


def flat(value: str) -> str:
    return " ".join(value.split())


@pytest.fixture(scope="module")
def repo_config() -> Config:
    return load_config(REPO / "config.yaml")


def hostile_digest(text: str) -> dict[str, Any]:
    data = json.loads(json.dumps(MINIMAL_DIGEST))
    data.update(title=text, intro=[text], subject=text, preheader=text)
    data["hero"] = {"image": "https://x.test/a.jpg", "alt": text, "caption": text, "credit": text}
    data["items"][0].update(headline=text, outlet=text, author=text, summary=[text])
    data["items"][0]["quote"] = {"text": [text], "cite": text}
    return data


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_literal(text: str, repo_config: Config) -> None:
    """Markup, MJML and template syntax in every text field appear as that literal text."""
    issue = render_issue(parse_digest(json.dumps(hostile_digest(text))), repo_config)
    document = parsed(issue.html)
    assert flat(text) in document.flat_text
    assert document.tags <= TEMPLATE_TAGS
    assert "onerror" not in document.attrs
    assert "<script" not in issue.html.lower()
    # The delivery markers are hex nonces that may hold "49" by chance: not the text's.
    text_part = issue.text
    for marker in issue.placeholders.values():
        text_part = text_part.replace(marker, "")
    assert "49" not in text_part and "49" not in document.flat_text
    assert flat(text) in flat(issue.text)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        " javascript:alert(1)",
        "vbscript:x",
        "data:text/html;base64,PHNjcmlwdD4=",
        "file:///etc/passwd",
        'https://x.test/"><script>x()</script>',
        "https://x.test/{{7*7}}",
        "mailto:x@example.com",
    ],
)
def test_only_http_urls_become_links(url: str) -> None:
    """No javascript:, data:, file: or malformed URL passes validation to become a link."""
    data = json.loads(json.dumps(MINIMAL_DIGEST))
    data["items"][0]["url"] = url
    with pytest.raises(DigestInvalidError):
        parse_digest(json.dumps(data))


def test_every_href_is_http_or_the_placeholder(repo_config: Config) -> None:
    """Every link in the email is http(s); nothing else is ever an href or src."""
    issue = render_issue(parse_digest(json.dumps(hostile_digest(HOSTILE[0]))), repo_config)
    for url in re.findall(r'(?:href|src)="([^"]*)"', issue.html):
        assert re.match(r"https?://", url), url


safe_text = st.text(
    alphabet=st.sampled_from(list("abcXYZ019 <>&\"'{}%#;=/!-–’“”ÄЖ€\u00a0")),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip())
evil = st.sampled_from(["<x-evil>", "</mj-text>", "<script>", "{{ 7*7 }}", "&amp;", ""])
field_text = st.builds(lambda a, b, c: f"{a}{b}{c}", safe_text, evil, safe_text).map(str.strip)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(headlines=st.lists(field_text, min_size=1, max_size=4), other=field_text)
def test_any_valid_digest_renders_safely(headlines: list[str], other: str) -> None:
    """Any valid digest renders; its text has every headline; no input markup reaches the HTML."""
    config = load_config(REPO / "config.yaml")
    data = hostile_digest(other)
    data["items"] = [{**data["items"][0], "headline": h} for h in headlines]
    issue = render_issue(parse_digest(json.dumps(data)), config)
    document = parsed(issue.html)
    assert document.tags <= TEMPLATE_TAGS
    assert "<x-evil" not in issue.html and "<script" not in issue.html
    text = flat(issue.text)
    for headline in headlines:
        assert flat(headline) in text
        assert flat(headline) in document.flat_text
