"""`newsletter new`: what it prints, its exit codes, and `validate`/`render` of
digests/*.json once schema.json sits beside the digests."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner, Result

from newsletter.cli import cli
from newsletter.digest import schema_text
from newsletter.errors import EXIT_BAD_INPUT
from tests.conftest import REPO

SAMPLE = REPO / "digests" / "2025-09-12.json"


def project(folder: Path) -> Path:
    """config.yaml whose digests folder (in `folder`) holds one sample issue."""
    (folder / "digests").mkdir()
    shutil.copy(SAMPLE, folder / "digests")
    settings = {"paths": {"templates": str(REPO / "templates"), "build": "build"}}
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return config


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def test_new_says_what_it_wrote(tmp_path: Path) -> None:
    """`new` writes next week's skeleton and schema.json, names both, and says the file
    cannot be sent until filled in; `schema` prints exactly the file's text."""
    config = project(tmp_path)
    result = run(config, "new")
    assert result.exit_code == 0, result.output
    digest = tmp_path / "digests" / "2025-09-19.json"
    assert result.stdout.splitlines()[:2] == [
        f"{digest}: new issue of 2025-09-19",
        f"{tmp_path / 'digests' / 'schema.json'}: the JSON Schema, for your editor",
    ]
    assert "cannot be sent, until you do" in result.stdout
    assert digest.is_file()
    assert run(config, "schema").stdout == schema_text()
    assert (tmp_path / "digests" / "schema.json").read_text(encoding="utf-8") == schema_text()


def test_new_refuses_to_overwrite(tmp_path: Path) -> None:
    """An existing file: one line on stderr naming it, with a hint, exit 3, no traceback."""
    config = project(tmp_path)
    result = run(config, "new", "--date", "2025-09-12")
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stderr.splitlines() == [
        f"{tmp_path / 'digests' / '2025-09-12.json'}: already exists; newsletter new never "
        "overwrites a digest",
        "hint: edit that file, or give another date with --date YYYY-MM-DD",
    ]


def test_new_refuses_a_bad_date(tmp_path: Path) -> None:
    """A date that is not YYYY-MM-DD: one line, exit 3."""
    result = run(project(tmp_path), "new", "--date", "19.09.2025")
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stderr == "date: expected a real date as YYYY-MM-DD, got '19.09.2025'\n"


def test_validate_and_render_skip_the_schema(tmp_path: Path) -> None:
    """`validate digests/*.json` and `render digests/*.json` (as `make demo` runs them)
    leave schema.json out with a note instead of failing on it."""
    config = project(tmp_path)
    run(config, "new", "--date", "2025-01-03")
    (tmp_path / "digests" / "2025-01-03.json").unlink()
    files = sorted(str(p) for p in (tmp_path / "digests").glob("*.json"))
    assert len(files) == 2
    for command in ("validate", "render"):
        result = run(config, command, *files)
        assert result.exit_code == 0, result.output
        assert "schema.json: skipped (the JSON Schema of the format, not a digest)" in (
            result.stderr
        )
