"""`newsletter report`: the issue in words, the history as lines, --json (a golden file),
--html (a page written whole), and one clear line with exit 3 for what cannot be reported."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from newsletter import Newsletter
from newsletter.cli import cli
from newsletter.errors import EXIT_BAD_INPUT
from tests.conftest import REPO
from tests.report.support import ISSUE, FakeEvents

GOLDEN = REPO / "tests" / "golden" / "report" / f"{ISSUE}.json"


def run(nl: Newsletter, *args: str) -> Result:
    config = Path(nl.config.database.url.removeprefix("sqlite:///")).parent / "config.yaml"
    return CliRunner().invoke(cli, ["--config", str(config), "report", *args])


@pytest.mark.golden
def test_json_output_matches_its_golden_file(nl: Newsletter, heard: FakeEvents) -> None:
    """`report ISSUE --json` prints the report as JSON, ASCII only (SendGrid's words stay
    inert on a terminal): exactly tests/golden/report/2025-09-12.json (UPDATE_GOLDEN=1
    rewrites it; review the diff)."""
    result = run(nl, ISSUE, "--json")
    assert result.exit_code == 0, result.output
    assert result.stdout.isascii()
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(result.stdout, encoding="utf-8")
    assert json.loads(result.stdout) == json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert result.stdout == GOLDEN.read_text(encoding="utf-8")


def test_an_issue_in_words(nl: Newsletter, heard: FakeEvents) -> None:
    """The words: recipients and doubt, delivery, complaints and unsubscribes with their
    rates, opens and clicks with machines and scanners apart, each item, the anomaly."""
    result = run(nl, ISSUE)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "recipients 4 (removed before sending 0) · accepted 3 · failed 0 · not sent 0 · " \
        "in doubt 1 (2 settled by SendGrid's events)" in out  # fmt: skip
    assert "delivered 3 (100.0 % of accepted)" in out
    assert "complaints 1 (33.3 %) · unsubscribes 1 (33.3 %) within 7 days" in out
    assert "opens 5 by readers; 7 machine opens (Apple Mail Privacy Protection) apart" in out
    assert "    1. EU weighs strategy as Kazakhstan deepens partnership with China: 4 clicks, " \
        "1 by scanners" in out  # fmt: skip
    assert "anomaly duplicate-delivered ev-9 at 2025-09-12 06:00:00 UTC" in out


def test_without_an_issue_one_line_per_issue_newest_first(
    nl: Newsletter, heard: FakeEvents
) -> None:
    """The history: a header and one line per sent issue, newest first."""
    result = run(nl)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "issue", "recipients", "delivered", "rate", "complaints", "unsubs", "opens", "clicks",
        "in", "doubt", "lists",
    ]  # fmt: skip
    assert lines[1].split()[:3] == [ISSUE, "4", "3"]
    assert lines[1].endswith("editors, weekly")
    assert lines[2].split()[0] == "2025-09-05"
    assert len(lines) == 3


def test_html_writes_the_page_of_the_newest_issue(
    nl: Newsletter, heard: FakeEvents, tmp_path: Path
) -> None:
    """--html without an issue writes the newest issue's page and says so."""
    page = tmp_path / "out" / "report.html"
    result = run(nl, "--html", str(page))
    assert result.exit_code == 0, result.output
    assert f"wrote the report of {ISSUE} to {page}" in result.stdout
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert html.count('<svg role="img"') == 3


def test_what_cannot_be_reported_is_one_line_and_exit_3(
    nl: Newsletter, events: FakeEvents, tmp_path: Path
) -> None:
    """An issue never sent, an undeclared list and an unwritable --html file: one clear
    line each on stderr, exit 3, no traceback."""
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    for args, words in [
        (("2024-01-01",), "no sends recorded for issue 2024-01-01"),
        ((ISSUE, "--list", "nope"), "list 'nope' is not declared in config.yaml"),
        ((ISSUE, "--html", str(blocker / "report.html")), "cannot write"),
    ]:
        result = run(nl, *args)
        assert result.exit_code == EXIT_BAD_INPUT, result.output
        assert words in result.stderr
        assert "Traceback" not in result.output
