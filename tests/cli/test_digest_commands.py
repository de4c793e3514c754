"""`newsletter validate | render | schema`: messages, files and exit codes, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from newsletter.cli import cli
from newsletter.errors import EXIT_BAD_INPUT, EXIT_CONFIG
from tests.conftest import REPO, SAMPLE_DIGESTS
from tests.tools import chromium


def run(*args: str) -> Result:
    """Invoke the CLI in-process with the project's config.yaml."""
    return CliRunner().invoke(cli, ["--config", str(REPO / "config.yaml"), *args])


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_validate_valid_prints_one_line_each() -> None:
    """A valid digest prints a one-line summary and exits 0."""
    result = run("validate", *map(str, SAMPLE_DIGESTS))
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 4
    assert lines[2].startswith(f"{SAMPLE_DIGESTS[2]}: ok — 2025-09-12, 7 items: Foreign Media")


def test_validate_reports_every_problem_on_stderr(tmp_path: Path, digest_data: Any) -> None:
    """Every problem is on stderr with file and JSON path; exit code is 3."""
    digest_data["items"][0]["url"] = "javascript:alert(1)"
    digest_data["titel"] = "typo"
    path = write_json(tmp_path / "bad.json", digest_data)
    result = run("validate", str(path))
    assert result.exit_code == EXIT_BAD_INPUT
    assert f"{path}: items[0].url: expected an absolute https:// or http:// URL" in result.stderr
    assert f"{path}: titel: unknown field" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"title": "x",\n\n  ]', "not valid JSON at line 3, column 3"),
        (b"", "not valid JSON at line 1, column 1"),
    ],
)
def test_unreadable_files_get_one_clear_line(
    tmp_path: Path, content: bytes | None, expected: str
) -> None:
    """Missing, non-UTF-8 or broken JSON files get one line and exit 3, no traceback."""
    path = tmp_path / "digest.json"
    if content is not None:
        path.write_bytes(content)
    result = run("validate", str(path))
    assert result.exit_code == EXIT_BAD_INPUT
    assert expected in result.stderr.splitlines()[0]
    assert "Traceback" not in result.output


def test_validate_checks_all_files_then_fails(tmp_path: Path) -> None:
    """A bad file among good ones: the good ones are still reported, exit is non-zero."""
    result = run("validate", str(tmp_path / "missing.json"), str(SAMPLE_DIGESTS[0]))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "ok —" in result.stdout
    assert "1 of 2 digest files is not valid" in result.stderr


def test_render_writes_three_files(tmp_path: Path) -> None:
    """render writes email.html, email.txt and email.mjml and prints paths and sizes."""
    result = run("render", str(SAMPLE_DIGESTS[0]), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    for name in ("email.html", "email.txt", "email.mjml"):
        assert (tmp_path / "out" / name).stat().st_size > 1000
        assert f"{tmp_path / 'out' / name}  " in result.stdout
    assert " KB" in result.stdout


def test_render_default_folder_is_build_digest_name(tmp_path: Path) -> None:
    """Without --out, output goes to build/<digest name>/ beside config.yaml."""
    (tmp_path / "templates").symlink_to(REPO / "templates")
    config = tmp_path / "config.yaml"
    config.write_text("paths: {build: out}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "render", str(SAMPLE_DIGESTS[1])])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / SAMPLE_DIGESTS[1].stem / "email.html").exists()


def test_render_validates_first_and_writes_nothing(tmp_path: Path, digest_data: Any) -> None:
    """An invalid digest among several stops render before any file is written."""
    bad = write_json(tmp_path / "bad.json", {**digest_data, "date": "tomorrow"})
    result = run("render", str(SAMPLE_DIGESTS[0]), str(bad), "--out", str(tmp_path / "out"))
    assert result.exit_code == EXIT_BAD_INPUT
    assert "date: expected an ISO date" in result.stderr
    assert not (tmp_path / "out").exists()


def test_schema_prints_json_schema() -> None:
    """schema prints the digest JSON Schema."""
    result = run("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["required"] == ["title", "date", "intro", "items"]


def test_bad_config_is_named(tmp_path: Path) -> None:
    """A wrong key or value in config.yaml is named, with exit code 4."""
    config = tmp_path / "config.yaml"
    config.write_text("publication:\n  nmae: X\nsender:\n  email: not-an-address\n")
    result = CliRunner().invoke(cli, ["--config", str(config), "render", str(SAMPLE_DIGESTS[0])])
    assert result.exit_code == EXIT_CONFIG
    assert "publication.nmae: unknown field" in result.stderr
    assert "sender.email:" in result.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [("a: [\n", "not valid YAML at line 2"), ("- 1\n", "expected a mapping")],
)
def test_unparseable_config(tmp_path: Path, text: str, expected: str) -> None:
    """Broken YAML is one clear error with exit code 4."""
    config = tmp_path / "config.yaml"
    config.write_text(text)
    result = CliRunner().invoke(cli, ["--config", str(config), "schema"])
    assert result.exit_code == 0  # schema needs no config
    result = CliRunner().invoke(cli, ["--config", str(config), "render", str(SAMPLE_DIGESTS[0])])
    assert result.exit_code == EXIT_CONFIG
    assert expected in result.stderr


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    """The installed entry point reports a bad file cleanly through a real process."""
    result = subprocess.run(
        [sys.executable, "-m", "newsletter", "validate", str(tmp_path / "nope.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == EXIT_BAD_INPUT
    assert result.stderr.strip() == f"{tmp_path / 'nope.json'}: no such file"


def test_every_command_has_help() -> None:
    """Every command documents itself."""
    for name, command in cli.commands.items():
        assert command.help, name
        assert run(name, "--help").exit_code == 0


def test_screenshot_without_chromium_exits_4_with_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`newsletter screenshot` with no Chromium: exit 4, one line and a hint, no traceback."""
    monkeypatch.setenv("NEWSLETTER_CHROMIUM", str(tmp_path / "missing"))
    result = run("screenshot", str(SAMPLE_DIGESTS[0]), "--out", str(tmp_path / "shots"))
    assert result.exit_code == EXIT_CONFIG
    assert "Chromium not found" in result.output and "hint: install it" in result.output
    assert "Traceback" not in result.output


@pytest.mark.browser
def test_screenshot_prints_each_png(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`newsletter screenshot DIGEST --out DIR --offline` writes and lists the four PNGs."""
    monkeypatch.setenv("NEWSLETTER_CHROMIUM", str(chromium()))
    out = tmp_path / "shots"
    digest = str(REPO / "digests/2025-09-12.json")
    result = run("screenshot", digest, "--out", str(out), "--offline")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "email-375-dark.png", "email-375-light.png", "email-600-dark.png", "email-600-light.png"
    ]  # fmt: skip
    assert result.output.count(" px high") == 4
