"""Body lines of at most 998 octets, and a browser sees exactly the same document.

`break_html_lines` turns white space into line feeds, or inserts an empty
comment holding one, only where a browser cannot tell the difference; these
tests prove it by parsing the HTML before and after with lxml and comparing
every element, attribute and text (with white space collapsed, as CSS's
`white-space: normal` does, and the inserted break comments removed: they are
not rendered). tests/render/test_in_browser.py compares the pixels.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree, html  # lxml comes with premailer

from newsletter.config import load_config
from newsletter.digest import load_digest
from newsletter.render import render_issue
from newsletter.render.compile import compile_mjml
from newsletter.render.inline import inline_css
from newsletter.render.lines import (
    HTML_BREAK,
    MAX_CONTENT_LINE,
    _break_html_lines_full,
    break_html_lines,
    break_text_lines,
    longest_line,
)
from tests.conftest import REPO, SAMPLE_DIGESTS
from tests.delivery_support import spaceless_digest


def collapse(text: str | None) -> str:
    return re.sub(r"[ \t\r\n\f]+", " ", text or "")


def shape(node: Any) -> Any:
    """Everything a browser renders from a node: tag, attributes, collapsed text, children.
    Inside <pre> and <textarea> the text is compared exactly."""
    exact = (
        node.tag in ("pre", "textarea", "script", "style") if isinstance(node.tag, str) else False
    )
    text = node.text if exact else collapse(node.text)
    tag = node.tag if isinstance(node.tag, str) else "#comment"
    if tag == "#comment":
        text = collapse(node.text)
    return (tag, dict(node.attrib), text, collapse(node.tail), [shape(c) for c in node])


def dom(document: str) -> Any:
    """The rendered shape of `document`, without the empty comments `break_html_lines`
    inserts (a comment is not rendered; its removal joins the text around it)."""
    root = html.document_fromstring(document.encode("utf-8"))
    for comment in root.xpath("//comment()"):
        if comment.text == "\n":
            comment.drop_tree()
    return shape(root)


def unbroken_html(issue: Any, config: Any) -> str:
    """MJML's and premailer's output for `issue` before its lines are broken."""
    from newsletter.render.issue import _context, delivery_placeholders
    from newsletter.render.templating import MJML_TEMPLATE, render_template

    digest = issue.digest
    context = _context(digest, config, delivery_placeholders(digest))
    return inline_css(compile_mjml(render_template(config.templates_dir, MJML_TEMPLATE, context)))


@pytest.mark.parametrize("digest_path", SAMPLE_DIGESTS, ids=lambda p: p.stem)
def test_sample_emails_have_short_lines_and_the_same_dom(digest_path: Any) -> None:
    """Each sample email: MJML's 6,000–40,000-character lines are broken to at most 800
    octets, and the document parses to the same elements, attributes and text."""
    config = load_config(REPO / "config.yaml")
    issue = render_issue(load_digest(digest_path), config)
    assert longest_line(issue.html) <= 800
    assert longest_line(issue.text) <= 800
    original = unbroken_html(issue, config)
    assert longest_line(original) > 998  # the fault this fixes
    assert dom(issue.html) == dom(original)


def test_pre_and_attribute_values_are_never_broken() -> None:
    """White space in <pre>, <textarea>, <style> and quoted values stays as it is."""
    value = " ".join(["word"] * 400)
    source = (
        f'<html><body><p title="{value}">{value}</p><pre>{value}</pre>'
        f"<textarea>{value}</textarea><style>p {{ color: red; }} /* {value} */</style>"
        "</body></html>"
    )
    broken = break_html_lines(source, limit=100)
    assert f'title="{value}"' in broken
    assert f"<pre>{value}</pre>" in broken and f"<textarea>{value}</textarea>" in broken
    assert f"/* {value} */" in broken
    assert dom(broken) == dom(source)


tags = st.sampled_from(["p", "div", "span", "a", "td", "b"])
words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn")), max_size=12)


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


@st.composite
def documents(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 40))):
        tag = draw(tags)
        values = [escape(draw(words)) for _ in range(draw(st.integers(0, 4)))]
        attrs = " ".join(f'data-{i}="{value}"' for i, value in enumerate(values))
        escaped = escape(" ".join(draw(st.lists(words, max_size=30))))
        parts.append(f"<{tag} {attrs}>{escaped}</{tag}>")
    return "<html><body>" + "".join(parts) + "</body></html>"


@settings(max_examples=100, deadline=None)
@given(documents())
def test_breaking_never_changes_the_dom(document: str) -> None:
    """For generated documents, the broken HTML has the same DOM as the original, and
    every line is within the limit unless no safe point exists on it."""
    broken = break_html_lines(document, limit=80)
    assert len(broken.replace(HTML_BREAK.decode(), "")) == len(document)
    with contextlib.suppress(etree.ParserError):  # lxml refuses an empty document
        assert dom(broken) == dom(document)


def test_text_lines_are_broken_at_spaces() -> None:
    """A plain-text line of 3,000 characters becomes lines of at most 800 octets."""
    text = " ".join(["mot"] * 750) + "\nshort\n"
    broken = break_text_lines(text)
    assert longest_line(broken) <= 800
    assert broken.split() == text.split()


def test_spaceless_digest_has_short_lines_and_the_same_dom() -> None:
    """A digest at the format's limits written without spaces (4,500-character Chinese,
    Japanese, Thai and Arabic paragraphs, emoji, the longest URLs and alt text): no line of
    the HTML or text part is over 998 octets (before the fix: 13,554 and 13,500), the text
    keeps every character, and the HTML parses to the same document."""
    config = load_config(REPO / "config.yaml")
    issue = render_issue(spaceless_digest(), config)
    assert longest_line(issue.html) <= MAX_CONTENT_LINE
    assert longest_line(issue.text) <= MAX_CONTENT_LINE
    original = unbroken_html(issue, config)
    assert longest_line(original) > 13_000
    assert issue.html.count(HTML_BREAK.decode()) > 100  # the breaks are the invisible kind
    assert dom(issue.html) == dom(original)
    for paragraph in issue.digest.items[0].summary:
        assert paragraph in issue.text.replace("\n", "").replace("   ", "")


def glued(char: str) -> bool:
    """Characters that belong to the grapheme cluster of the one before them."""
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or char in "\u200d\ufe0f"
        or (0x1F3FB <= ord(char) <= 0x1F3FF)
    )


clusters = st.sampled_from(
    ["中", "文", "ก", "ที่", "خ", "👩\u200d👩\u200d👧", "👍🏽", "❤\ufe0f", "🇰🇿", "e\u0301", "1",
     "&amp;", "&lt;", "&#12354;", "&#x1F600;", "ñ"]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(clusters, min_size=1, max_size=400), st.integers(40, 120))
def test_hard_breaks_keep_references_characters_and_clusters(parts: list[str], limit: int) -> None:
    """Text without white space is broken only by inserted `<!--\\n-->` comments, each
    between two grapheme clusters (never inside a character reference, a UTF-8 sequence,
    an emoji ZWJ sequence, a flag or before a combining mark), and every line fits."""
    document = "<html><body>\n<p>" + "".join(parts) + "</p>\n</body></html>"
    broken = break_html_lines(document, limit=limit)
    assert longest_line(broken) <= limit
    pieces = broken.split(HTML_BREAK.decode())
    assert "".join(pieces) == document
    start = len("<html><body>\n<p>")
    boundaries = {start + end for end in itertools.accumulate(len(part) for part in parts)}
    for position in itertools.accumulate(len(piece) for piece in pieces[:-1]):
        assert position in boundaries


@settings(max_examples=150, deadline=None)
@given(st.lists(clusters.filter(lambda c: "&" not in c), min_size=1, max_size=600))
def test_text_hard_breaks_fall_between_grapheme_clusters(parts: list[str]) -> None:
    """A plain-text line without spaces longer than 998 octets is broken between grapheme
    clusters into lines of at most 800; one that fits in 998 is left whole (a URL)."""
    text = "".join(parts)
    broken = break_text_lines(text)
    lines = broken.split("\n")
    assert "".join(lines) == text
    if len(text.encode("utf-8")) <= MAX_CONTENT_LINE:
        assert broken == text
    else:
        assert longest_line(broken) <= 800
    boundaries = set(itertools.accumulate(len(part) for part in parts))
    for position in itertools.accumulate(len(line) for line in lines[:-1]):
        assert position in boundaries
    assert not any(glued(line[0]) for line in lines[1:])


def test_a_url_line_under_998_octets_is_not_broken() -> None:
    """A 900-octet URL alone on a line stays whole in the text part (breaking it would
    break the link); a 1,200-octet one, which SendGrid would refuse, is broken."""
    url = "https://news.example.com/" + "a" * 875
    assert break_text_lines(f"Read at X:\n   {url}\n") == f"Read at X:\n   {url}\n"
    longer = "https://news.example.com/" + "a" * 1175
    assert longest_line(break_text_lines(longer)) <= 800


def test_title_script_and_comments_get_no_inserted_break() -> None:
    """<title> (whose text is not parsed for comments), <pre>, <script>, <style> and
    comments (Outlook's conditional comments) are never given an inserted comment."""
    run = "中" * 400
    source = (
        f"<html><head><title>{run}</title><style>/* {run} */</style></head><body>"
        f"<!--[if mso]><p>{run}</p><![endif]--><pre>{run}</pre><script>//{run}</script>"
        f"<p>{run}</p></body></html>"
    )
    broken = break_html_lines(source, limit=200)
    for kept in (f"<title>{run}</title>", f"/* {run} */", f"<p>{run}</p><![endif]-->",
                 f"<pre>{run}</pre>", f"//{run}</script>"):  # fmt: skip
        assert kept in broken
    last = broken.rsplit("<script>", 1)[1]  # only the last paragraph's 1,200 octets
    assert broken.count(HTML_BREAK.decode()) == last.count(HTML_BREAK.decode()) >= 6


fragments = st.sampled_from(
    ['<p class="a b">', "</p>", "<td style='x: 1; y: 2' >", "<br/>", "<a\thref=\"u v\"\n>",
     "<!--[if mso]><table role=\"x\" width=\"1\"><tr><![endif]-->", "<!-- c d -->",
     "<style> p { a: b } </style>", "<title>a b c</title>", "<pre> a  b </pre>", " ", "\n",
     "\t", "word", "中文字", "e\u0301", "👍🏽", "&amp;", "&#12354;", "<", "x > y", '"q"',
     "<img src=\"a\" alt='b c'>", "<script>if (a < b) { c() }</script>", "</td>", "<tr>"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(fragments, max_size=300), st.integers(8, 200))
def test_the_fast_path_breaks_exactly_like_the_full_one(parts: list[str], limit: int) -> None:
    """`break_html_lines` looks for break points only near where lines must be broken;
    it gives the same bytes as `_break_html_lines_full`, which lists every candidate of
    the document first, on generated documents (tags, quoted values, comments holding
    tags, raw-text elements, <title>, text with and without spaces, references, clusters)."""
    document = "".join(parts)
    assert break_html_lines(document, limit=limit) == _break_html_lines_full(document, limit)


@settings(max_examples=100, deadline=None)
@given(documents(), st.integers(10, 300))
def test_the_fast_path_equals_the_full_one_on_documents(document: str, limit: int) -> None:
    """The same comparison on the documents the DOM test generates."""
    assert break_html_lines(document, limit=limit) == _break_html_lines_full(document, limit)


@pytest.mark.parametrize("digest_path", SAMPLE_DIGESTS, ids=lambda p: p.stem)
def test_the_fast_path_equals_the_full_one_on_the_samples(digest_path: Any) -> None:
    """Each sample email before its lines are broken, at several limits, and the digest
    written without spaces: the fast path and the full one give the same bytes."""
    config = load_config(REPO / "config.yaml")
    for digest in (load_digest(digest_path), spaceless_digest()):
        original = unbroken_html(render_issue(digest, config), config)
        for limit in (800, 300, 80, 20):
            assert break_html_lines(original, limit) == _break_html_lines_full(original, limit)
