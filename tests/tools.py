"""Finding the external tools some tests need, and skipping clearly without them.

Locally a missing tool skips its tests with the reason; in CI
(NEWSLETTER_REQUIRE_TOOLS=1) it fails them, so a broken install is never green.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def missing(reason: str) -> None:
    """Skip, or fail when the CI says every tool must be present."""
    if os.environ.get("NEWSLETTER_REQUIRE_TOOLS") == "1":
        pytest.fail(f"required tool missing in CI: {reason}")
    pytest.skip(reason)


def find_tool(env_var: str, *candidates: str) -> Path:
    """The tool named by `env_var`, else the first candidate on disk or PATH."""
    configured = os.environ.get(env_var)
    options = [configured] if configured else list(candidates)
    for option in options:
        found = shutil.which(option) or (option if Path(option).is_file() else None)
        if found:
            return Path(found)
    missing(f"{' or '.join(options)} not found; set {env_var} to its path")
    raise AssertionError("unreachable")


def mjml_validator() -> Path:
    """The official MJML 4 CLI (npm package `mjml`)."""
    return find_tool("NEWSLETTER_MJML_BIN", str(REPO / "node_modules/.bin/mjml"), "mjml")


def chromium() -> Path:
    """Debian's Chromium, for Playwright with the system browser."""
    return find_tool("NEWSLETTER_CHROMIUM", "/usr/lib/chromium/chromium", "chromium")


def axe_js() -> Path:
    """axe-core's axe.min.js (npm `axe-core@4`): $NEWSLETTER_AXE_JS, else ./node_modules."""
    return find_tool("NEWSLETTER_AXE_JS", str(REPO / "node_modules/axe-core/axe.min.js"))
