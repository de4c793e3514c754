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

Then premailer finds each rule's elements with an XPath query over the whole document
(cssselect's translation: about 60 µs a rule, half of what it had left). While an
`_Inliner` transforms, a selector made only of type, class and id selectors joined by
descendant combinators (all of the template's) is answered from one index of the
document's elements instead (`_Index`): the same elements, in the same order, as the
XPath query gives; any other selector still goes to premailer's own query. premailer's
`merge_styles`, a function of its arguments' values, is remembered by them: the template
gives many elements the same style and the same rules. Both are installed in premailer's
module and act only inside an `_Inliner`'s transform (a `Premailer` of anyone else's
runs untouched); the tests compare the bytes with premailer's own, on the samples and on
generated documents and stylesheets (tests/render/test_inline.py).
"""

from __future__ import annotations

import html as html_text
import logging
import re
from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

import cssselect
import premailer
import premailer.premailer

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


# XPath's normalize-space(), which cssselect's class test uses, splits on these only.
_XML_SPACE = re.compile(r"[ \t\r\n]+")

# A compound selector: (type or None for any, classes, ids), all to hold.
_Compound = tuple[str | None, tuple[str, ...], tuple[str, ...]]


@lru_cache(maxsize=256)
def _plan(selector: str) -> tuple[_Compound, ...] | None:
    """`selector` as compound selectors joined by descendant combinators, left to
    right; None if it has anything else (which then goes to premailer's XPath query)."""
    try:
        parsed = cssselect.parse(selector)
    except cssselect.SelectorError:
        return None
    if len(parsed) != 1 or parsed[0].pseudo_element is not None:
        return None
    compounds: list[_Compound] = []
    node: Any = parsed[0].parsed_tree
    while True:
        right = node.subselector if isinstance(node, cssselect.parser.CombinedSelector) else node
        classes: list[str] = []
        ids: list[str] = []
        while isinstance(right, cssselect.parser.Class | cssselect.parser.Hash):
            if isinstance(right, cssselect.parser.Class):
                classes.append(right.class_name)
            else:
                ids.append(right.id)
            right = right.selector
        if not isinstance(right, cssselect.parser.Element) or right.namespace is not None:
            return None
        compounds.append((right.element, tuple(classes), tuple(ids)))
        if not isinstance(node, cssselect.parser.CombinedSelector):
            break
        if node.combinator != " ":
            return None
        node = node.selector
    return tuple(reversed(compounds))


class _Index:
    """A document's elements (in document order) by type, class and id, built once at
    the first rule's query: premailer has removed the <style> elements by then, and
    changes no class, id or element until its queries are done.

    A compound's elements are those of its rarest part that hold all of its parts; a
    descendant combinator keeps those among the proper descendants of the elements
    matching what is left of it. That is what cssselect's XPath says: `descendant-or-
    self::` from the root, a type test on the element's name as written, a class
    among the tokens of normalize-space(@class), `@id` equal to the name."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.everything: list[Any] = []
        self.by_type: dict[str, list[Any]] = {}
        self.by_class: dict[str, list[Any]] = {}
        self.by_id: dict[str, list[Any]] = {}
        self.classes: dict[Any, frozenset[str]] = {}
        for element in page.iter():
            if not isinstance(element.tag, str):
                continue  # a comment or a processing instruction: not an element
            self.everything.append(element)
            self.by_type.setdefault(element.tag, []).append(element)
            names = element.get("class")
            if names:
                tokens = frozenset(_XML_SPACE.split(names)) - {""}
                self.classes[element] = tokens
                for name in tokens:
                    self.by_class.setdefault(name, []).append(element)
            found = element.get("id")
            if found is not None:
                self.by_id.setdefault(found, []).append(element)
        self._below: dict[tuple[_Compound, ...], set[Any]] = {}

    def _holds(self, element: Any, compound: _Compound) -> bool:
        kind, classes, ids = compound
        return (
            (kind is None or element.tag == kind)
            and all(name in self.classes.get(element, ()) for name in classes)
            and all(element.get("id") == name for name in ids)
        )

    def _candidates(self, compound: _Compound) -> list[Any]:
        kind, classes, ids = compound
        lists = [self.by_class.get(name, []) for name in classes]
        lists += [self.by_id.get(name, []) for name in ids]
        if kind is not None:
            lists.append(self.by_type.get(kind, []))
        return min(lists, key=len) if lists else self.everything

    def _descendants(self, plan: tuple[_Compound, ...]) -> set[Any]:
        """Every proper descendant of the elements `plan` selects."""
        found = self._below.get(plan)
        if found is None:
            found = self._below[plan] = set()
            for element in self.select(plan):
                if element not in found:
                    found.update(element.iterdescendants())  # comments too: never chosen
        return found

    def select(self, plan: tuple[_Compound, ...]) -> list[Any]:
        """The elements `plan` selects, in document order."""
        last = plan[-1]
        chosen = [e for e in self._candidates(last) if self._holds(e, last)]
        if len(plan) > 1 and chosen:
            below = self._descendants(plan[:-1])
            chosen = [element for element in chosen if element in below]
        return chosen


# The transform in progress in this context, if it is an _Inliner's: [its index or None].
_transforming: ContextVar[list[_Index | None] | None] = ContextVar("_transforming", default=None)
_premailer_selector: Callable[[str], Any] = premailer.premailer._create_cssselector


def _create_cssselector(selector: str) -> Callable[[Any], list[Any]]:
    """premailer's `_create_cssselector`, answered from the document's `_Index` during an
    `_Inliner`'s rule queries (installed in premailer's module below)."""
    state = _transforming.get()
    plan = _plan(selector) if state is not None and selector != "style" else None
    if state is None or plan is None:
        query: Callable[[Any], list[Any]] = _premailer_selector(selector)
        return query

    def select(page: Any) -> list[Any]:
        if not hasattr(page, "getroottree"):  # the tree (for <head>), not an element
            found: list[Any] = _premailer_selector(selector)(page)
            return found
        index = state[0]
        if index is None or index.page is not page:
            index = state[0] = _Index(page)
        return index.select(plan)

    return select


premailer.premailer._create_cssselector = _create_cssselector

# merge_styles' answers by its arguments: the template gives many elements the same
# inline style and the same rules, in every render (bounded like `_sheets`).
_merged: dict[tuple[Any, ...], str] = {}
_MAX_MERGED = 4096
_premailer_merge_styles: Callable[..., str] = premailer.premailer.merge_styles


def _merge_styles(
    inline_style: str,
    new_styles: list[list[tuple[str, str]]],
    classes: list[str],
    remove_unset_properties: bool = False,
) -> str:
    """premailer's `merge_styles` (a function of its arguments' values: strings and the
    lists of pairs premailer's css parser gives), remembered during an `_Inliner`'s
    transform (installed in premailer's module below)."""
    if _transforming.get() is None:
        return _premailer_merge_styles(inline_style, new_styles, classes, remove_unset_properties)
    key = (inline_style, tuple(map(tuple, new_styles)), tuple(classes), remove_unset_properties)
    found = _merged.get(key)
    if found is None:
        found = _premailer_merge_styles(inline_style, new_styles, classes, remove_unset_properties)
        if len(_merged) >= _MAX_MERGED:
            _merged.clear()
        _merged[key] = found
    return found


premailer.premailer.merge_styles = _merge_styles


class _Leftover(str):
    """The text premailer writes back into a <style> for the rules it cannot inline."""


# (stylesheet text, its index in the document) → (inlinable rules, leftover text or None)
_sheets: dict[tuple[str, int], tuple[list[Any], _Leftover | None]] = {}


class _Inliner(premailer.Premailer):  # type: ignore[misc]  # premailer has no type hints
    """premailer with each stylesheet's rules and leftover text computed once.

    The cached values are what premailer itself computes the first time (so the output
    is byte for byte the same); they depend on the stylesheet text, its index and the
    options, which are fixed (`PREMAILER_OPTIONS`)."""

    def transform(self, *args: Any, **kwargs: Any) -> Any:
        """premailer's transform, its rules' queries answered by an `_Index`."""
        token = _transforming.set([None])
        try:
            return super().transform(*args, **kwargs)
        finally:
            _transforming.reset(token)

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
