"""`newsletter check`: findings with paths and fixes, exit 0 / 10 / 11, `--json`, and
one clear line (exit 3) for a digest that cannot be checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from newsletter.cli import cli
from newsletter.errors import EXIT_BAD_INPUT, EXIT_CHECK_BLOCKED, EXIT_CHECK_WARNINGS
from tests.check.support import CLEAN, FIXTURES, clean_data
from tests.conftest import REPO

FLAWED = FIXTURES / "flawed.json"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(REPO / "config.yaml"), "check", *args])


def test_a_clean_digest_exits_0() -> None:
    """No finding: exit 0, the skipped tools noted, and the verdict last."""
    result = run(str(CLEAN), "--no-tools")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-1] == f"{CLEAN}: 0 blocking findings, 0 warnings: ready to send"
    assert "note: spam score: skipped (tools off)" in lines


def test_warnings_only_exit_10() -> None:
    """A sample digest (long title as subject, items without URLs) only warns: exit 10."""
    result = run(str(REPO / "digests/2025-09-12.json"), "--no-tools")
    assert result.exit_code == EXIT_CHECK_WARNINGS == 10
    assert "warning: items[0].url: item 1 (Euractiv) has no link to the article" in result.stdout
    assert result.stdout.splitlines()[-1].endswith("0 blocking findings, 8 warnings: ready to send")


def test_blocking_findings_exit_11_and_come_first_with_path_and_fix() -> None:
    """Blocking findings are listed before warnings, each with its JSON path and its
    fix; the exit code is 11."""
    result = run(str(FLAWED), "--no-tools")
    assert result.exit_code == EXIT_CHECK_BLOCKED == 11
    lines = result.stdout.splitlines()
    assert lines[0].startswith("blocking: intro[0]: unresolved placeholder")
    assert lines[1].startswith("  fix: ")
    severities = [line.split(":")[0] for line in lines[:-1] if not line.startswith(("  ", "note"))]
    assert severities == ["blocking"] * 3 + ["warning"] * 6
    assert "blocking: items[2].url: localhost is on the deny list" in result.stdout
    assert lines[-1].endswith("not ready to send")


def test_json_output_is_the_report() -> None:
    """`--json` prints the report as one JSON object (and exits as without it)."""
    result = run(str(FLAWED), "--no-tools", "--json")
    assert result.exit_code == EXIT_CHECK_BLOCKED
    report = json.loads(result.stdout)
    assert report["exit_code"] == 11 and report["blocking"] >= 3
    assert {"severity", "rule", "path", "message", "fix"} == set(report["findings"][0])


def test_digest_text_is_printed_inert(tmp_path: Path) -> None:
    """A finding quoting the digest shows a bidi override as an escape, not raw."""
    data = clean_data()
    data["intro"] = "Dear {{ \u202e name }}"
    path = tmp_path / "d.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = run(str(path), "--no-tools")
    assert "\u202e" not in result.stdout and "\\u202e" in result.stdout


@pytest.mark.parametrize("content", [None, "{", '{"title": "x"}'])
def test_a_digest_that_cannot_be_checked_is_one_clear_error(
    tmp_path: Path, content: str | None
) -> None:
    """Missing, broken or invalid: the validation error on stderr, exit 3, no traceback."""
    path = tmp_path / "d.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = run(str(path))
    assert result.exit_code == EXIT_BAD_INPUT
    assert str(path) in result.stderr and "Traceback" not in result.output
