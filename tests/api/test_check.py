"""`Newsletter.check`: the gate as a library call, a typed report, typed errors, no output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsletter import Newsletter
from newsletter.check import CheckReport, Severity
from newsletter.errors import DigestFileError, DigestInvalidError
from tests.check.support import CLEAN, FIXTURES, project_config


def test_check_returns_a_frozen_report(capsys: pytest.CaptureFixture[str]) -> None:
    """The report has the findings (blocking first), the skipped tools and the exit code;
    nothing is printed."""
    report = Newsletter(project_config()).check(FIXTURES / "flawed.json", tools=False)
    assert isinstance(report, CheckReport)
    assert report.issue_id == "2025-09-12" and report.exit_code == 11
    assert [f.severity for f in report.findings[:3]] == [Severity.BLOCKING] * 3
    assert len(report.skipped) == 2
    with pytest.raises(AttributeError):
        report.findings = ()  # type: ignore[misc]
    assert capsys.readouterr() == ("", "")
    assert Newsletter(project_config()).check(str(CLEAN), tools=False).exit_code == 0


def test_check_raises_the_digest_errors(tmp_path: Path) -> None:
    """No file: DigestFileError; an invalid digest: DigestInvalidError with its problems."""
    nl = Newsletter(project_config())
    with pytest.raises(DigestFileError):
        nl.check(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"title": "x"}), encoding="utf-8")
    with pytest.raises(DigestInvalidError):
        nl.check(bad)
