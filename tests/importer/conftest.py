"""Where the published seed texts are, and the per-field score table of the seed imports.

The seeds (the four published issues the hand-made digests in digests/ were made from)
are not part of the project: they are read from $NEWSLETTER_SEEDS_DIR, else from
../shared/seeds beside the repository; tests that need them skip, saying so, when
neither exists."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.importer.scores import SCORES, table

SEEDS_VARIABLE = "NEWSLETTER_SEEDS_DIR"


def seeds_dir() -> Path:
    configured = os.environ.get(SEEDS_VARIABLE)
    return Path(configured) if configured else REPO.parent / "shared" / "seeds"


@pytest.fixture(scope="session")
def seeds() -> list[Path]:
    """The seed texts, sorted; skips when they are not there."""
    folder = seeds_dir()
    found = sorted(folder.glob("*.txt")) if folder.is_dir() else []
    if not found:
        pytest.skip(f"no seed texts in {folder} (set ${SEEDS_VARIABLE} to their folder)")
    return found


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The score of the seed imports, field by field, after the run."""
    if SCORES:
        terminalreporter.write_sep("-", "import-text on the published seeds: fields equal")
        for line in table():
            terminalreporter.write_line(line)
