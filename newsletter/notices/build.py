"""Render one transactional notice to one address (see the package doc)."""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from html import escape

from newsletter.config import Config
from newsletter.message import IssueMessage, PersonalMessage, Recipient
from newsletter.message.build import sender_domain
from newsletter.render.compile import compile_mjml
from newsletter.render.inline import inline_css
from newsletter.render.lines import break_html_lines, break_text_lines
from newsletter.render.templating import render_template

NOTICES_FOLDER = "notices"


class NoticeKind(StrEnum):
    """The notices there are; each has `notices/<kind>.mjml.j2` and `.txt.j2` templates."""

    CONFIRM_SIGNUP = "confirm-signup"  # double opt-in of a sign-up (newsletter.readers)
    CONFIRM_ADDRESS = "confirm-address"  # a reader's new address (the preference page)


_SUBJECTS = {
    NoticeKind.CONFIRM_SIGNUP: "Please confirm your subscription to {digest}",
    NoticeKind.CONFIRM_ADDRESS: "Please confirm your new address for {digest}",
}


def _expiry_days(config: Config, kind: NoticeKind) -> int:
    """How long the notice's link works: each kind's own setting in config.yaml."""
    if kind == NoticeKind.CONFIRM_ADDRESS:
        return config.preferences.change_address_expiry_days
    return config.signup.confirm_expiry_days


@dataclass(frozen=True)
class _Rendered:
    """A notice rendered once with markers where the per-reader URLs go."""

    subject: str
    html: str
    text: str
    markers: dict[str, str]


_CACHE_SIZE = 64
_cache: OrderedDict[tuple[int, NoticeKind, str | None, bool], tuple[Config, _Rendered]] = (
    OrderedDict()
)
_cache_lock = threading.Lock()


def _marker(name: str) -> str:
    # An RFC 2606 `.invalid` URL no template text can contain: a fresh random part per
    # rendering, so no name or publication text can imitate it.
    return f"https://{name}.invalid/{secrets.token_hex(12)}"


def _render(
    config: Config, kind: NoticeKind, name: str | None, with_preferences: bool
) -> _Rendered:
    """MJML → HTML → inlined CSS and the text twin, with markers for the URLs: the
    expensive part (some 50 ms), done once per notice kind, name and config."""
    key = (id(config), kind, name, with_preferences)
    with _cache_lock:
        found = _cache.get(key)
        if found is not None and found[0] is config:
            _cache.move_to_end(key)
            return found[1]
    publication = config.publication
    subject = _SUBJECTS[kind].format(digest=publication.digest_name)
    markers = {"action_url": _marker("action-url")}
    if with_preferences:
        markers["preferences_url"] = _marker("preferences-url")
    context = {
        "publication": publication,
        "sender": config.sender,
        "subject": subject,
        "name": name,
        "action_url": markers["action_url"],
        "preferences_url": markers.get("preferences_url"),
        "expiry_days": _expiry_days(config, kind),
    }
    folder = config.templates_dir
    stem = f"{NOTICES_FOLDER}/{kind.value}"
    html = inline_css(compile_mjml(render_template(folder, f"{stem}.mjml.j2", context)))
    text = render_template(folder, f"{stem}.txt.j2", context)
    rendered = _Rendered(subject, html, text, markers)
    with _cache_lock:
        _cache[key] = (config, rendered)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return rendered


def build_notice(
    config: Config,
    kind: NoticeKind,
    *,
    to: str,
    name: str | None,
    action_url: str,
    preferences_url: str | None = None,
) -> PersonalMessage:
    """The notice `kind` for the address `to` (normalised), ready for any transport.

    `action_url` is the one button of the notice (the signed confirmation link);
    `preferences_url`, when given, is linked in the footer. Every value is escaped
    for where it lands (HTML attribute and text, plain text). The templates are
    rendered once per kind, name and config, with markers the URLs replace (as an
    issue's unsubscribe link is filled in per reader); the lines are then folded for
    mail. RenderError if a template is missing or broken, MessageError if the
    sender's headers cannot be built."""
    rendered = _render(config, kind, name, preferences_url is not None)
    urls = {"action_url": action_url, "preferences_url": preferences_url or ""}
    html, text = rendered.html, rendered.text
    for field, marker in rendered.markers.items():
        html = html.replace(marker, escape(urls[field], quote=True))
        text = text.replace(marker, urls[field])
    html, text = break_html_lines(html), break_text_lines(text)
    subject = rendered.subject
    digest = hashlib.sha256(f"{subject}\0{html}\0{text}".encode()).hexdigest()
    domain = sender_domain(config)
    message = IssueMessage(
        issue_id=f"notice-{kind.value}",
        list_name="notices",
        subject=subject,
        from_name=config.sender.name,
        from_email=config.sender.email,
        reply_to=config.sender.reply_to,
        html=html,
        text=text,
        # No unsubscribe link in a notice: a marker that cannot occur in its body.
        unsubscribe_placeholder=f"https://notice.invalid/{digest[:24]}",
        list_id=f"notices.{domain}",
        list_label="notices",
        unsubscribe_mailto=None,
        categories=("notice", kind.value),
        message_id_domain=domain,
        content_hash=digest,
        message_hash=digest,
        digest_json="",
        transactional=True,
    )
    message.check_headers()
    return message.personalise(Recipient(email=to, unsubscribe_url="", name=name))
