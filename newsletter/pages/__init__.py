"""The HTML pages readers see, as a library: no HTTP here.

`Pages` renders the Jinja2 templates under `templates/web/` (unsubscribe, errors,
the archive); `Archive` lists the issues kept as sent, renders each as it was sent
and writes the Atom feed, for the web endpoint (newsletter.web, which adds the HTTP)
and for `Newsletter.write_archive`, which writes the same pages as static files.
"""

from newsletter.pages.archive import Archive, ArchivedIssue
from newsletter.pages.html import PAGE_HEADERS, PERSONAL_HEADERS, WEB_TEMPLATES, Pages, mask_email

__all__ = [
    "PAGE_HEADERS",
    "PERSONAL_HEADERS",
    "WEB_TEMPLATES",
    "Archive",
    "ArchivedIssue",
    "Pages",
    "mask_email",
]
