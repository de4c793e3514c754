"""`newsletter check --json` on fixture digests is a golden file (`make golden` rewrites it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from newsletter.cli import cli
from tests.check.support import FIXTURES
from tests.conftest import REPO
from tests.render.test_golden import GOLDEN, check_golden

CASES = [FIXTURES / "flawed.json", FIXTURES / "clean.json", REPO / "digests/2025-09-12.json"]


@pytest.mark.golden
@pytest.mark.parametrize("digest", CASES, ids=lambda p: p.stem)
def test_check_json_matches_golden(digest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The JSON report (tools off, so it is the same on every machine) of each fixture is
    exactly the committed one: any change of a rule's wording, path or order shows as a
    diff. The digest is named relative to the repository, as an editor would type it."""
    monkeypatch.chdir(REPO)
    relative = str(digest.relative_to(REPO))
    result = CliRunner().invoke(
        cli, ["--config", "config.yaml", "check", relative, "--json", "--no-tools"]
    )
    assert result.exit_code in (0, 10, 11), result.output
    check_golden(GOLDEN / "check" / f"{digest.stem}.json", result.stdout)
