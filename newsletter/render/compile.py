"""MJML → HTML with mjml-python: the only module that imports `mjml`.

mjml-python does not validate (the official validator runs in the tests); it
raises a bare ValueError on MJML it cannot parse, translated here.
"""

from __future__ import annotations

import mjml

from newsletter.errors import RenderError


def compile_mjml(source: str) -> str:
    """Compile MJML to HTML; no web fonts are linked (rendering stays offline)."""
    try:
        html: str = mjml.mjml2html(source, disable_comments=True, fonts={})
    except ValueError as err:
        raise RenderError(f"MJML could not be compiled: {err}") from err
    return html
