"""The HTML pages readers see, as a library: no HTTP here.

`Pages` renders the Jinja2 templates under `templates/web/` (unsubscribe, errors,
the archive); `Archive` lists the issues kept as sent, renders each as it was sent
and writes the Atom feed, for the web endpoint (newsletter.web, which adds the HTTP)
and for `Newsletter.write_archive`, which writes the same pages as static files.
`workbench_page` is the editors' live preview (`newsletter preview --web`).
"""

from newsletter.pages.archive import Archive, ArchivedIssue
from newsletter.pages.html import (
    PAGE_HEADERS,
    PERSONAL_HEADERS,
    WEB_TEMPLATES,
    Pages,
    mask_email,
    signup_snippet,
)
from newsletter.pages.workbench import (
    WORKBENCH_HEADERS,
    FindingView,
    WorkbenchView,
    dark_variant,
    workbench_page,
    workbench_script,
)

__all__ = [
    "PAGE_HEADERS",
    "PERSONAL_HEADERS",
    "WEB_TEMPLATES",
    "WORKBENCH_HEADERS",
    "Archive",
    "ArchivedIssue",
    "FindingView",
    "Pages",
    "WorkbenchView",
    "dark_variant",
    "mask_email",
    "signup_snippet",
    "workbench_page",
    "workbench_script",
]
