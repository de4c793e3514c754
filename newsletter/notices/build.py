"""Render one transactional notice to one address (see the package doc)."""

from __future__ import annotations

import hashlib
from enum import StrEnum

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
    by the templates (HTML autoescape; plain text needs none). RenderError if a
    template is missing or broken, MessageError if the sender's headers cannot be
    built."""
    publication = config.publication
    subject = _SUBJECTS[kind].format(digest=publication.digest_name)
    context = {
        "publication": publication,
        "sender": config.sender,
        "subject": subject,
        "name": name,
        "action_url": action_url,
        "preferences_url": preferences_url,
        "expiry_days": config.signup.confirm_expiry_days,
    }
    folder = config.templates_dir
    mjml = render_template(folder, f"{NOTICES_FOLDER}/{kind.value}.mjml.j2", context)
    html = break_html_lines(inline_css(compile_mjml(mjml)))
    text = break_text_lines(
        render_template(folder, f"{NOTICES_FOLDER}/{kind.value}.txt.j2", context)
    )
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
