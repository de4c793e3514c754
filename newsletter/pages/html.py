"""The HTML pages readers see (served by the web endpoint, or written as static files):
Jinja2 templates under templates/web/.

Every value is autoescaped and an undefined name fails loudly (StrictUndefined),
as in the email templates. Pages carry no external assets: their CSS is inline,
so they work behind the strictest Content-Security-Policy (see `headers`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from newsletter.config import Config
from newsletter.errors import RenderError
from newsletter.render.templating import hostname, longdate

WEB_TEMPLATES = "web"

# No scripts, no remote anything, no framing; inline styles only. `no-referrer`
# keeps a personal unsubscribe URL out of any other site's logs.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
# Personal pages (they name an address) must not be kept by shared caches or proxies.
PERSONAL_HEADERS = {**PAGE_HEADERS, "Cache-Control": "no-store"}


@lru_cache(maxsize=4)
def _environment(folder: Path) -> jinja2.Environment:
    if not folder.is_dir():
        raise RenderError(
            f"{folder}: web templates folder not found",
            hint="set paths.templates in config.yaml to the folder holding web/",
        )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(longdate=longdate, hostname=hostname)
    return env


class Pages:
    """Renders the web pages with the publication's details filled in."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.env = _environment(config.templates_dir / WEB_TEMPLATES)

    def render(self, name: str, **context: Any) -> str:
        values = {"publication": self.config.publication, **context}
        try:
            return self.env.get_template(f"{name}.html.j2").render(values)
        except jinja2.TemplateError as err:
            raise RenderError(f"web template {name}: {err}") from err


def mask_email(email: str) -> str:
    """r•••@example.com: enough for its owner to recognise, little for anyone else."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


def signup_snippet(config: Config) -> str:
    """The embeddable sign-up form for the publication's own site: plain HTML, no
    script, posting to {public_base_url}/subscribe, which answers with the newsletter's
    own form (the address filled in) for the reader to send from there."""
    base = config.publication.public_base_url or f"http://{config.web.host}:{config.web.port}"
    return Pages(config).render("signup_snippet", action=base.rstrip("/") + "/subscribe")
