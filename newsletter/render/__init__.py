"""Digest → email: Jinja2 → MJML → HTML (mjml-python) → inlined CSS (premailer),
plus a plain-text twin rendered from the same data.

Rendering is pure and offline: the same digest and config always give the same
bytes, and nothing is fetched from the network.
"""

from newsletter.render.issue import RenderedIssue, issue_id, render_issue
from newsletter.render.tracking import shown_item_links, untracked_anchors

__all__ = ["RenderedIssue", "issue_id", "render_issue", "shown_item_links", "untracked_anchors"]
