"""Jinja2 environments for the MJML and plain-text templates.

The MJML environment autoescapes every value (digest text is untrusted); the
text environment does not, because plain text has no markup to escape. Both
use StrictUndefined so a typo in a template fails loudly instead of rendering
an empty string into thousands of inboxes.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2

from newsletter.errors import RenderError

TEXT_WIDTH = 78
MJML_TEMPLATE = "email.mjml.j2"
TEXT_TEMPLATE = "email.txt.j2"
ITEM_LINKS = "item_links"  # the context's map of item URL → URL to show (render.tracking)


def longdate(value: dt.date) -> str:
    """12 September 2025: unambiguous for readers on every continent."""
    return f"{value.day} {value:%B %Y}"


@lru_cache(maxsize=1024)
def wrap(value: str, indent: str = "", first: str | None = None) -> str:
    """Wrap at 78 columns without breaking words or URLs; `first` prefixes line one.

    Remembered per paragraph (textwrap was half of the text part's time): rendering
    the same digest again, or a digest with one paragraph edited in the workbench,
    wraps only what changed."""
    return textwrap.fill(
        value,
        width=TEXT_WIDTH,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def underline(value: str, char: str = "=") -> str:
    """A rule as long as the longest line of the wrapped title."""
    return char * max(len(line) for line in wrap(value).splitlines())


def hostname(url: str) -> str:
    return urlsplit(url).hostname or url


@jinja2.pass_context
def tracked(context: jinja2.runtime.Context, url: str) -> str:
    """An item link with the issue's campaign parameters (newsletter.render.tracking);
    any URL that is not one of the digest's item links comes back unchanged."""
    links: dict[str, str] = context.get(ITEM_LINKS, {})
    return links.get(url, url)


def _environment(templates: Path, autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=autoescape,  # noqa: S701 - off only for the plain-text template
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(
        longdate=longdate, wrap=wrap, underline=underline, hostname=hostname, tracked=tracked
    )
    return env


@lru_cache(maxsize=8)
def environment(templates: Path, *, autoescape: bool) -> jinja2.Environment:
    """One cached environment per templates folder and escaping mode."""
    if not templates.is_dir():
        raise RenderError(
            f"{templates}: templates folder not found",
            hint="set paths.templates in config.yaml, or run from the project folder",
        )
    return _environment(templates, autoescape)


def render_template(templates: Path, name: str, context: dict[str, Any]) -> str:
    """Render one template, translating Jinja2's errors into RenderError."""
    env = environment(templates, autoescape=not name.endswith(".txt.j2"))
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateNotFound as err:
        raise RenderError(f"{templates / name}: template not found") from err
    except jinja2.TemplateSyntaxError as err:
        raise RenderError(f"{err.filename}:{err.lineno}: template syntax error: {err}") from err
    except jinja2.UndefinedError as err:
        raise RenderError(f"{templates / name}: {err}") from err
