"""CSS inlining with premailer: the only module that imports it.

The settings below keep MJML's output intact (see docs/rendering.md): keep
`!important` so the mobile and dark-mode @media rules can still win, leave
width/height/align attributes alone for Outlook, keep classes for those same
rules, and never touch the network.

premailer writes the document back with lxml, whose HTML serialiser (libxml2)
leaves an attribute value that starts with ``&{`` unescaped (a Netscape-era
"JavaScript entity"): a title or alt text ``&{<x>}`` would come out as
``alt="&{<x>}"``. Such values are escaped again after the transform, so every
attribute holds literal text as HTML writes it.
"""

from __future__ import annotations

import html as html_text
import logging
import re

import premailer

from newsletter.errors import RenderError

_DOCTYPE = re.compile(r"^\s*<!doctype html>", re.IGNORECASE)
# An attribute value libxml2 wrote raw because it starts with "&{", in either quotes.
_RAW_VALUE = re.compile(r"""=(?:"(&\{[^"]*)"|'(&\{[^']*)')""")


def inline_css(html: str) -> str:
    """Inline the <style> rules that can be inlined; keep @media rules in <style>."""
    # premailer compares the doctype case-sensitively and drops MJML's lowercase one.
    html = _DOCTYPE.sub("<!DOCTYPE html>", html, count=1)
    try:
        inliner = premailer.Premailer(
            html,
            allow_network=False,
            base_url=None,
            strip_important=False,
            keep_style_tags=False,
            remove_classes=False,
            disable_validation=True,
            cssutils_logging_level=logging.CRITICAL,
            disable_basic_attributes=["width", "height", "align", "valign", "bgcolor"],
        )
        result: str = inliner.transform(pretty_print=False)
    except Exception as err:  # premailer raises many unrelated types; all mean the same here
        raise RenderError(f"CSS inlining failed: {err}") from err
    return _RAW_VALUE.sub(_escaped_value, result)


def _escaped_value(match: re.Match[str]) -> str:
    value = match.group(1) if match.group(1) is not None else match.group(2)
    # libxml2 did escape the double quote (its delimiter) and nothing else.
    return '="' + html_text.escape(value.replace("&quot;", '"'), quote=True) + '"'
