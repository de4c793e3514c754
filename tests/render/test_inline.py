"""CSS inlining with each stylesheet's work cached: the output is premailer's own, byte for
byte, whatever the stylesheet and however often it is seen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import premailer
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from lxml.cssselect import CSSSelector

from newsletter.config import load_config
from newsletter.digest import load_digest
from newsletter.render import inline
from newsletter.render.compile import compile_mjml
from newsletter.render.issue import _context, delivery_placeholders
from newsletter.render.templating import MJML_TEMPLATE, render_template
from tests.conftest import REPO, SAMPLE_DIGESTS
from tests.delivery_support import spaceless_digest

MJML = """<mjml><mj-head><mj-style>
  .t a {{ color: {colour}; }}
  @media (prefers-color-scheme: dark) {{ .t a {{ color: #8ab4f8; }} }}
</mj-style></mj-head><mj-body><mj-section><mj-column>
  <mj-text css-class="t"><a href="https://example.com/">link</a></mj-text>
  <mj-image src="https://example.com/a.png" alt="a" />
</mj-column></mj-section></mj-body></mjml>"""


def reference(html: str) -> str:
    """premailer itself with the product's options and no cache of ours."""
    html = inline._DOCTYPE.sub("<!DOCTYPE html>", html, count=1)
    out: str = premailer.Premailer(html, **inline.PREMAILER_OPTIONS).transform(pretty_print=False)
    return inline._RAW_VALUE.sub(inline._escaped_value, out)


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    inline._sheets.clear()


def test_cached_and_uncached_inlining_give_premailers_own_bytes() -> None:
    """The first render (computing the stylesheet's rules) and the next ones (reusing
    them) both equal premailer's own output; the @media rule stays, marked !important."""
    html = compile_mjml(MJML.format(colour="#0b5cad"))
    first, second, third = inline.inline_css(html), inline.inline_css(html), inline.inline_css(html)
    assert first == second == third == reference(html)
    assert "color:#0b5cad" in first
    assert "color: #8ab4f8 !important" in first


def test_a_changed_stylesheet_is_never_served_from_the_cache() -> None:
    """Two templates whose stylesheets differ get their own rules, in any order (the
    cache is keyed by the stylesheet's text)."""
    red, blue = (compile_mjml(MJML.format(colour=c)) for c in ("#a1b2c3", "#c3b2a1"))
    assert "color:#a1b2c3" in inline.inline_css(red)
    assert "color:#c3b2a1" in inline.inline_css(blue)
    assert inline.inline_css(red) == reference(red)
    assert inline.inline_css(blue) == reference(blue)


def test_a_floated_image_still_gets_its_align_attribute() -> None:
    """premailer's align attribute for floated images (Outlook) is kept: only documents
    that never mention float skip that step."""
    html = compile_mjml(MJML.format(colour="red")).replace("<img ", '<img style="float: left" ', 1)
    out = inline.inline_css(html)
    assert out == reference(html)
    assert 'align="left"' in out


def test_the_cache_is_bounded() -> None:
    """A long-lived server rendering ever-changing stylesheets keeps at most a bounded
    number of them."""
    for n in range(inline._MAX_SHEETS * 2):
        inline.inline_css(compile_mjml(MJML.format(colour=f"#{n:06x}")))
    assert len(inline._sheets) <= inline._MAX_SHEETS


@pytest.mark.parametrize("digest_path", SAMPLE_DIGESTS, ids=lambda p: p.stem)
def test_sample_emails_inline_as_premailer_does(digest_path: Path) -> None:
    """Each sample email and the digest written without spaces: the product's inlining
    (stylesheets, rule queries and merged styles remembered) gives premailer's bytes,
    in a first and a repeated render."""
    config = load_config(REPO / "config.yaml")
    for digest in (load_digest(digest_path), spaceless_digest()):
        context = _context(digest, config, delivery_placeholders(digest))
        html = compile_mjml(render_template(config.templates_dir, MJML_TEMPLATE, context))
        assert inline.inline_css(html) == inline.inline_css(html) == reference(html)


classes = st.sampled_from(["a", "b", "digest", "x-y", "A"])
spaces = st.sampled_from([" ", "  ", "\t", "\n", "\r", "\f", "\xa0", " \u2003 "])
types = st.sampled_from(["div", "p", "span", "td", "a", "h2", "DIV"])


@st.composite
def trees(draw: st.DrawFn, depth: int = 0) -> str:
    """An element with random classes (joined by all kinds of white space), maybe an
    id, maybe a comment or a processing instruction, and children."""
    kind = draw(types.filter(lambda t: t != "DIV"))
    attributes = ""
    if draw(st.booleans()):
        names = draw(st.lists(classes, max_size=3))
        attributes += ' class="' + "".join(draw(spaces) + n for n in names) + draw(spaces) + '"'
    if draw(st.booleans()):
        attributes += f' id="{draw(st.sampled_from(["i1", "i2", "digest"]))}"'
    children = draw(st.lists(trees(depth + 1), max_size=3)) if depth < 4 else []
    comment = draw(st.sampled_from(["", "<!--c-->", "<?pi x?>"]))  # not elements
    return f"<{kind}{attributes}>t{comment}{''.join(children)}</{kind}>"


@st.composite
def selectors(draw: st.DrawFn) -> str:
    """Descendant chains of type, class and id selectors, and now and then something
    the index does not answer (child combinator, pseudo-class, attribute, list)."""
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        part = draw(st.sampled_from(["", "*"])) or draw(st.sampled_from(["", "p", "div", "td"]))
        part += "".join("." + c for c in draw(st.lists(classes, max_size=2)))
        if draw(st.booleans()):
            part += "#" + draw(st.sampled_from(["i1", "i2"]))
        parts.append(part or draw(types))
    chosen = " ".join(parts)
    extra = draw(st.sampled_from(["", "", "", " > p", ":first-child", "[id]", ", span", " DIV"]))
    return chosen + extra


def _page(document: str) -> Any:
    return etree.fromstring(document, etree.HTMLParser())


@settings(max_examples=200, deadline=None)
@given(st.lists(trees(), min_size=1, max_size=4), st.lists(selectors(), min_size=1, max_size=6))
def test_the_index_selects_what_premailers_query_selects(
    bodies: list[str], chosen: list[str]
) -> None:
    """For generated documents and selectors, the index answers exactly what premailer's
    XPath query (cssselect's translation) answers, elements and order, or declines."""
    page = _page("<html><head><title>t</title></head><body>" + "".join(bodies) + "</body></html>")
    index = inline._Index(page)
    for selector in chosen:
        plan = inline._plan(selector)
        if plan is not None:
            assert index.select(plan) == CSSSelector(selector)(page), selector


@settings(max_examples=100, deadline=None)
@given(st.lists(trees(), min_size=1, max_size=4), st.lists(selectors(), min_size=1, max_size=6))
def test_generated_documents_inline_as_premailer_does(bodies: list[str], chosen: list[str]) -> None:
    """Generated documents and stylesheets: the product's inlining gives premailer's
    bytes, with each rule's own declarations (so a wrong element or order shows)."""
    sheet = "".join(
        f"{selector} {{ padding: {n}px; color: #{n:06x} }}\n" for n, selector in enumerate(chosen)
    )
    document = (
        f"<!DOCTYPE html><html><head><style>{sheet}</style></head><body>"
        + "".join(bodies)
        + "</body></html>"
    )
    inline._sheets.clear()
    assert inline.inline_css(document) == inline.inline_css(document) == reference(document)


def test_selectors_the_index_does_not_answer() -> None:
    """Anything but type, class and id selectors joined by descendant combinators goes
    to premailer's own query."""
    assert inline._plan(".digest .footer p") == (
        (None, ("digest",), ()),
        (None, ("footer",), ()),
        ("p", (), ()),
    )
    assert inline._plan("td.a.b#i") == (("td", ("b", "a"), ("i",)),)
    for other in ("a > b", "a + b", "a ~ b", "p:first-child", "[id]", "a, b", "a::before", "x|p"):
        assert inline._plan(other) is None
    assert inline._plan("{") is None
