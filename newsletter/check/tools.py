"""Finding the external programs the check can use; a missing one skips its check."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

SPAMASSASSIN_ENV = "NEWSLETTER_SPAMASSASSIN"
CHROMIUM_ENV = "NEWSLETTER_CHROMIUM"
AXE_ENV = "NEWSLETTER_AXE_JS"


def find_program(env_var: str, *candidates: str) -> Path | None:
    """The program `env_var` names, else the first candidate on disk or on PATH."""
    configured = os.environ.get(env_var, "").strip()
    for option in [configured] if configured else candidates:
        found = shutil.which(option) or (option if Path(option).is_file() else None)
        if found:
            return Path(found)
    return None


def spamassassin() -> Path | None:
    return find_program(SPAMASSASSIN_ENV, "spamassassin")


def chromium() -> Path | None:
    return find_program(CHROMIUM_ENV, "/usr/lib/chromium/chromium", "chromium")


def axe_script(base_dir: Path) -> Path | None:
    """axe.min.js (npm `axe-core`): $NEWSLETTER_AXE_JS, else node_modules beside config.yaml."""
    configured = os.environ.get(AXE_ENV, "").strip()
    path = Path(configured) if configured else base_dir / "node_modules/axe-core/axe.min.js"
    return path if path.is_file() else None
