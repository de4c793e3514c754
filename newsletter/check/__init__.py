"""The pre-send gate (`newsletter check`, `Newsletter.check`; docs/check.md).

Rules are small pure functions over the digest and the rendered issue
(`content`: what editors wrote; `output`: what the templates made of it); the
tool-based checks have their own modules (`spam`: SpamAssassin, `axe`: axe-core
in headless Chromium) and are skipped, with a note, where the tool is missing.
"""

from newsletter.check.findings import CheckReport, Finding, Severity
from newsletter.check.gate import check_issue

__all__ = ["CheckReport", "Finding", "Severity", "check_issue"]
