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

Speed: a stylesheet comes from the template, not the digest, so it is the same
in every render. premailer caches the parsed sheet but still turns its rules
into text on every call, and re-marks every @media declaration ``!important``
through cssutils' validating setters: two thirds of its time. `_Inliner` keeps
both results per stylesheet text instead (see docs/benchmarks.md, "Render").
"""

from __future__ import annotations

import html as html_text
import logging
import re
from typing import Any

import premailer

from newsletter.errors import RenderError

_DOCTYPE = re.compile(r"^\s*<!doctype html>", re.IGNORECASE)
# An attribute value libxml2 wrote raw because it starts with "&{", in either quotes.
_RAW_VALUE = re.compile(r"""=(?:"(&\{[^"]*)"|'(&\{[^']*)')""")
# Stylesheets remembered (by their text and position); a template has one or two.
_MAX_SHEETS = 32

# Every attribute premailer's _style_to_basic_html_attributes can write (premailer 3.10).
_BASIC_ATTRIBUTES = frozenset({"align", "valign", "bgcolor", "width", "height"})

PREMAILER_OPTIONS: dict[str, Any] = {
    "allow_network": False,
    "base_url": None,
    "strip_important": False,
    "keep_style_tags": False,
    "remove_classes": False,
    "disable_validation": True,
    "cssutils_logging_level": logging.CRITICAL,
    "disable_basic_attributes": ["width", "height", "align", "valign", "bgcolor"],
}


class _Leftover(str):
    """The text premailer writes back into a <style> for the rules it cannot inline."""


# (stylesheet text, its index in the document) → (inlinable rules, leftover text or None)
_sheets: dict[tuple[str, int], tuple[list[Any], _Leftover | None]] = {}


class _Inliner(premailer.Premailer):  # type: ignore[misc]  # premailer has no type hints
    """premailer with each stylesheet's rules and leftover text computed once.

    The cached values are what premailer itself computes the first time (so the output
    is byte for byte the same); they depend on the stylesheet text, its index and the
    options, which are fixed (`PREMAILER_OPTIONS`)."""

    def _parse_style_rules(self, css_body: str, ruleset_index: int) -> tuple[list[Any], list[Any]]:
        key = (css_body or "", ruleset_index)
        found = _sheets.get(key)
        if found is None:
            rules, leftover = super()._parse_style_rules(css_body, ruleset_index)
            text = _Leftover(super()._css_rules_to_string(leftover)) if leftover else None
            if len(_sheets) >= _MAX_SHEETS:
                _sheets.clear()  # bounds memory if templates keep changing (a long-lived server)
            found = _sheets[key] = (rules, text)
        rules, text = found
        # Rules are tuples of immutable values: a shallow copy is enough.
        return list(rules), [text] if text is not None else []

    def _style_to_basic_html_attributes(
        self, element: Any, style_content: str, force: bool = False
    ) -> None:
        """premailer copies a merged style's text-align, vertical-align, background-color,
        width and height into HTML attributes, except the ones disabled; all five are
        (`PREMAILER_OPTIONS`), so its parsing of every inlined style is skipped."""
        if not _BASIC_ATTRIBUTES.issubset(self.disable_basic_attributes):
            super()._style_to_basic_html_attributes(element, style_content, force)

    def _css_rules_to_string(self, rules: list[Any]) -> str:
        if len(rules) == 1 and isinstance(rules[0], _Leftover):
            return str(rules[0])
        text: str = super()._css_rules_to_string(rules)
        return text


def inline_css(html: str) -> str:
    """Inline the <style> rules that can be inlined; keep @media rules in <style>."""
    # premailer compares the doctype case-sensitively and drops MJML's lowercase one.
    html = _DOCTYPE.sub("<!DOCTYPE html>", html, count=1)
    try:
        # premailer gives a floated image an align attribute, parsing every image's style
        # with cssutils (a tenth of its time); no style can float anything without the word.
        inliner = _Inliner(html, align_floating_images="float" in html.lower(), **PREMAILER_OPTIONS)
        result: str = inliner.transform(pretty_print=False)
    except Exception as err:  # premailer raises many unrelated types; all mean the same here
        raise RenderError(f"CSS inlining failed: {err}") from err
    return _RAW_VALUE.sub(_escaped_value, result)


def _escaped_value(match: re.Match[str]) -> str:
    value = match.group(1) if match.group(1) is not None else match.group(2)
    # libxml2 did escape the double quote (its delimiter) and nothing else.
    return '="' + html_text.escape(value.replace("&quot;", '"'), quote=True) + '"'
