"""Render one issue once; delivery personalises it per recipient afterwards."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from newsletter.config import Config
from newsletter.digest.models import Digest
from newsletter.render.compile import compile_mjml
from newsletter.render.inline import inline_css
from newsletter.render.lines import break_html_lines, break_text_lines
from newsletter.render.templating import (
    ITEM_LINKS,
    MJML_TEMPLATE,
    TEXT_TEMPLATE,
    render_template,
)
from newsletter.render.tracking import item_links

# Invisible characters after the preheader stop clients from filling the inbox
# preview with the first words of the body.
PREHEADER_PADDING = "\u034f\u00a0" * 40


def issue_id(digest: Digest) -> str:
    """The issue's identifier in URLs and the store: its date."""
    return digest.date.isoformat()


def placeholder(name: str, digest: Digest) -> str:
    """A per-issue marker that delivery replaces with a per-recipient value.

    It is derived from the digest's own content, so no digest text can contain
    it, and it is a harmless URL (RFC 2606 `.invalid`) should one ever leak.
    """
    return placeholder_for(name, digest.content_hash())


def placeholder_for(name: str, content_hash: str) -> str:
    """`placeholder(name, digest)` from the digest's content hash alone: what an issue
    kept in the store (which keeps the hash) needs to fill in its per-reader values."""
    nonce = hashlib.sha256(f"{name}:{content_hash}".encode()).hexdigest()[:24]
    return f"https://{name.replace('_', '-')}.invalid/{nonce}"


# The per-reader values delivery fills in, by the name templates use (placeholders.NAME).
DELIVERY_VALUES = ("unsubscribe_url", "preferences_url")


def delivery_placeholders(digest: Digest) -> dict[str, str]:
    """Every per-reader marker of an issue, by name: what the templates link to."""
    content_hash = digest.content_hash()  # hashing the digest's JSON once, not per name
    return {name: placeholder_for(name, content_hash) for name in DELIVERY_VALUES}


@dataclass(frozen=True)
class RenderedIssue:
    """A finished email, not yet addressed to anyone."""

    digest: Digest
    mjml: str
    html: str
    text: str
    placeholders: dict[str, str]
    warnings: tuple[str, ...] = field(default=())

    @property
    def subject(self) -> str:
        return self.digest.email_subject

    @property
    def html_size(self) -> int:
        """Bytes of HTML as sent: what Gmail's 102 KB clipping counts."""
        return len(self.html.encode("utf-8"))

    def message_hash(self) -> str:
        """Fingerprint of exactly what is sent (before personalisation)."""
        return hashlib.sha256(f"{self.subject}\0{self.html}\0{self.text}".encode()).hexdigest()


def _context(
    digest: Digest,
    config: Config,
    placeholders: dict[str, str],
    links: dict[str, str] | None = None,
) -> dict[str, Any]:
    base = config.publication.public_base_url
    view_url = f"{base.rstrip('/')}/archive/{issue_id(digest)}/" if base else None
    return {
        ITEM_LINKS: links or {},
        "digest": digest,
        "publication": config.publication,
        "sender": config.sender,
        "placeholders": placeholders,
        "view_url": view_url,
        "preheader_padding": PREHEADER_PADDING,
    }


def _size_warnings(size: int, config: Config) -> tuple[str, ...]:
    limits = config.rendering
    if size > limits.clip_size_bytes:
        return (
            f"HTML is {size / 1000:.1f} KB: Gmail clips messages over "
            f"{limits.clip_size_bytes / 1000:.0f} KB (hiding the unsubscribe link); shorten it",
        )
    if size > limits.warn_size_bytes:
        return (
            f"HTML is {size / 1000:.1f} KB, close to Gmail's "
            f"{limits.clip_size_bytes / 1000:.0f} KB clipping limit",
        )
    return ()


def render_issue(digest: Digest, config: Config) -> RenderedIssue:
    """Render the digest to MJML, HTML and text with the configured templates."""
    placeholders = delivery_placeholders(digest)
    links = item_links(digest, config.links.utm)
    context = _context(digest, config, placeholders, links.links)
    mjml_source = render_template(config.templates_dir, MJML_TEMPLATE, context)
    # Lines of at most 800 octets (RFC 5322, SendGrid): MJML writes lines of 40,000.
    html = break_html_lines(inline_css(compile_mjml(mjml_source)))
    text = break_text_lines(render_template(config.templates_dir, TEXT_TEMPLATE, context))
    return RenderedIssue(
        digest=digest,
        mjml=mjml_source,
        html=html,
        text=text,
        placeholders=placeholders,
        warnings=(*links.warnings, *_size_warnings(len(html.encode("utf-8")), config)),
    )
