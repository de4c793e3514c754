"""CSS inlining with each stylesheet's work cached: the output is premailer's own, byte for
byte, whatever the stylesheet and however often it is seen."""

from __future__ import annotations

import premailer
import pytest

from newsletter.render import inline
from newsletter.render.compile import compile_mjml

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
