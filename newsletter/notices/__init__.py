"""Transactional notices: the one-off emails a reader's own action asks for.

`build_notice` renders a notice (a sign-up's confirmation, a new address's
confirmation) through the issue's own path - Jinja2 → MJML → HTML (mjml-python) →
inlined CSS (premailer) → lines of at most 800 octets, plus a plain-text twin from
the same data - with the publication's branding, and returns it as the
`PersonalMessage` every transport sends. A notice is not list mail: it carries no
List-Id or List-Unsubscribe (`IssueMessage.transactional`).
"""

from newsletter.notices.build import NoticeKind, build_notice

__all__ = ["NoticeKind", "build_notice"]
