"""CSS inlining with premailer: the only module that imports it.

The settings below keep MJML's output intact (see docs/rendering.md): keep
`!important` so the mobile and dark-mode @media rules can still win, leave
width/height/align attributes alone for Outlook, keep classes for those same
rules, and never touch the network.
"""

from __future__ import annotations

import logging
import re

import premailer

from newsletter.errors import RenderError

_DOCTYPE = re.compile(r"^\s*<!doctype html>", re.IGNORECASE)


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
    return result
