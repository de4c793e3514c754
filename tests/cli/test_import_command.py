"""`newsletter import-text` and `Newsletter.import_text`: what is printed where, the files
written, and the exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from newsletter import Newsletter
from newsletter.cli import cli
from newsletter.config import load_config
from newsletter.digest import load_digest
from newsletter.errors import EXIT_IMPORT

TEXT = """Foreign Media on Kazakhstan’s Transit Role, and More
26.04.2025
ASTANA – The Astana Times has curated a selection of articles from global media outlets.
Charyn Canyon. Photo credit: Shutterstock
Kazakhstan aims to strengthen position as key transit hub
Kazakhstan is investing $8 billion in roads and railways, reported Trend on April 12.
“The fleet is set to double,” said Karabayev.
Kazakhstan is investing in its ports
The minister spoke about the Caspian fleet at a forum this week.
"""


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), "import-text", *args])


def project(tmp_path: Path) -> Path:
    """A config.yaml whose build folder is `build` under tmp_path, and the text file."""
    config = tmp_path / "config.yaml"
    config.write_text("paths: {build: build}\n", encoding="utf-8")
    (tmp_path / "digest.txt").write_text(TEXT, encoding="utf-8")
    return config


def test_import_writes_the_digest_and_its_review_notes(tmp_path: Path) -> None:
    """Without --out the digest goes to build/imported/<date>.json (not digests/, where
    dispatch would send it unreviewed) with <date>.review.txt beside it; stdout says
    what was written, stderr lists each note with its item number and reason."""
    config = project(tmp_path)
    result = run(config, str(tmp_path / "digest.txt"))
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "build" / "imported" / "2025-04-26.json"
    assert result.stdout == f"{tmp_path / 'digest.txt'} (text) → {out}: 2025-04-26, 2 items\n"
    note = (
        "item 2 (Kazakhstan is investing in its ports): no outlet found in the first "
        "paragraph (e.g. “Euractiv published an article on …”, “… reported Euronews on …”): "
        "outlet is “[outlet needed]”"
    )
    review = out.with_name("2025-04-26.review.txt")
    assert result.stderr.splitlines() == [
        f"review: {note}",
        "review: item 2 (Kazakhstan is investing in its ports): no date in the first "
        "paragraph: published left out",
        f"review: 2 notes in {review}",
    ]
    digest = load_digest(out)
    assert digest.items[0].quote is not None and digest.items[0].quote.cite == "said Karabayev"
    assert review.read_text(encoding="utf-8").splitlines()[1] == f"- {note}"


def test_an_existing_digest_is_not_replaced_without_force(tmp_path: Path) -> None:
    """A second import to the same --out is refused (exit 13, nothing touched): an
    editor's reviewed work is never overwritten by accident; --force replaces it."""
    config = project(tmp_path)
    out = tmp_path / "mine.json"
    assert run(config, str(tmp_path / "digest.txt"), "--out", str(out)).exit_code == 0
    out.write_text("reviewed by hand", encoding="utf-8")
    again = run(config, str(tmp_path / "digest.txt"), "--out", str(out))
    assert again.exit_code == EXIT_IMPORT
    assert again.stderr.splitlines() == [
        f"{out}: already exists; nothing written",
        "hint: choose another --out, or replace it with --force",
    ]
    assert out.read_text(encoding="utf-8") == "reviewed by hand"
    forced = run(config, str(tmp_path / "digest.txt"), "--out", str(out), "--force")
    assert forced.exit_code == 0
    assert load_digest(out).date.isoformat() == "2025-04-26"


def test_the_date_option_and_its_errors(tmp_path: Path) -> None:
    """--date gives the issue date to a text without a date line; without it the error
    says so (exit 13); a malformed --date is a usage error (exit 2); a missing file is
    named (exit 13)."""
    config = project(tmp_path)
    undated = tmp_path / "undated.txt"
    undated.write_text(TEXT.replace("26.04.2025\n", ""), encoding="utf-8")
    out = tmp_path / "out.json"
    missing = run(config, str(undated), "--out", str(out))
    assert missing.exit_code == EXIT_IMPORT
    assert "no issue date: the text has no date line" in missing.stderr
    dated = run(config, str(undated), "--out", str(out), "--date", "2025-04-18")
    assert dated.exit_code == 0, dated.stderr
    assert str(load_digest(out).items[0].published) == "2025-04-12"
    assert run(config, str(undated), "--date", "18.04.2025").exit_code == 2
    absent = run(config, str(tmp_path / "absent.txt"))
    assert absent.exit_code == EXIT_IMPORT
    assert absent.stderr == f"{tmp_path / 'absent.txt'}: no such file\n"


def test_the_api_returns_the_import_and_prints_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Newsletter.import_text: a TextImport with the digest, the notes and the paths; the
    library prints nothing (only the CLI does)."""
    config = project(tmp_path)
    nl = Newsletter(load_config(config))
    result = nl.import_text(tmp_path / "digest.txt", tmp_path / "x.json")
    assert (result.out, result.review) == (tmp_path / "x.json", tmp_path / "x.review.txt")
    assert result.digest == load_digest(tmp_path / "x.json")
    assert {note.where for note in result.notes} == {
        "item 2 (Kazakhstan is investing in its ports)"
    }
    assert not result.html
    assert capsys.readouterr() == ("", "")
