"""Body lines of at most 998 octets, and a browser sees exactly the same document.

`break_html_lines` turns white space into line feeds only where a browser
cannot tell the difference; these tests prove it by parsing the HTML before
and after with lxml and comparing every element, attribute and text (with white
space collapsed, as CSS's `white-space: normal` does).
"""

from __future__ import annotations

import contextlib
import re
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
from newsletter.render.lines import break_html_lines, break_text_lines, longest_line
from tests.conftest import REPO, SAMPLE_DIGESTS


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
    return shape(html.document_fromstring(document.encode("utf-8")))


@pytest.mark.parametrize("digest_path", SAMPLE_DIGESTS, ids=lambda p: p.stem)
def test_sample_emails_have_short_lines_and_the_same_dom(digest_path: Any) -> None:
    """Each sample email: MJML's 6,000–40,000-character lines are broken to at most 800
    octets, and the document parses to the same elements, attributes and text."""
    config = load_config(REPO / "config.yaml")
    issue = render_issue(load_digest(digest_path), config)
    assert longest_line(issue.html) <= 800
    assert longest_line(issue.text) <= 800
    from newsletter.render.issue import _context, placeholder  # the unbroken original
    from newsletter.render.templating import MJML_TEMPLATE, render_template

    digest = issue.digest
    context = _context(digest, config, {"unsubscribe_url": placeholder("unsubscribe_url", digest)})
    original = inline_css(
        compile_mjml(render_template(config.templates_dir, MJML_TEMPLATE, context))
    )
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
    assert len(broken) == len(document)
    with contextlib.suppress(etree.ParserError):  # lxml refuses an empty document
        assert dom(broken) == dom(document)


def test_text_lines_are_broken_at_spaces() -> None:
    """A plain-text line of 3,000 characters becomes lines of at most 800 octets."""
    text = " ".join(["mot"] * 750) + "\nshort\n"
    broken = break_text_lines(text)
    assert longest_line(broken) <= 800
    assert broken.split() == text.split()
