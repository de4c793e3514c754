"""Whatever text goes in, `newsletter import-text` writes a digest that validates, or
exits with a clear one-line error (exit 13); it never crashes (exit 9) or shows a
traceback."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from newsletter.cli import cli
from newsletter.digest import load_digest
from newsletter.errors import EXIT_IMPORT
from tests.conftest import REPO

# Lines of the house format and its near misses, so that drawn texts often make a
# digest (and exercise every branch) rather than always failing for want of an item.
HOUSE_LINES = [
    "Foreign Media on Kazakhstan’s Diplomacy, and More",
    "26.04.2025",
    "31.02.2025",
    "date 2025-09-05 ASTANA – The Astana Times has curated articles.",
    "ASTANA – The Astana Times has curated a selection of articles.",
    "Almaty. Photo credit: myflyright.com",
    "Photo credit: Shutterstock",
    "EU weighs strategy as Kazakhstan deepens partnership with China",
    "Is Kazakhstan the next transit hub?",
    "Euractiv published an article on Sept. 11 about Kazakhstan’s role.",
    "Kazakhstan is a hub, reported Euronews on Dec. 31.",
    "China Daily, a leading newspaper, published an article by President Xi Li on Feb. 30.",
    "“A quotation begins here.",
    "and it ends here,” reads the article.",
    "“A whole quotation,” said Karabayev.",
    "“Unclosed",
    "”",
    "“",
    '"Straight quotes," he said.',
    "<h3>A heading</h3>",
    "<p>A paragraph</p>",
    "<blockquote>“Quoted,” it reads.</blockquote>",
]
# Printable text (control characters are refused, as the plain st.text() branch shows).
PRINTABLE = st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"])
LINE = st.one_of(st.sampled_from(HOUSE_LINES), st.text(PRINTABLE, max_size=80))
HEADLINE = st.one_of(
    st.sampled_from(HOUSE_LINES[7:9]),
    st.text(st.characters(codec="utf-8", categories=["L", "Zs", "P"]), min_size=1, max_size=60),
)
PARAGRAPH = st.one_of(
    st.sampled_from(HOUSE_LINES[9:]), st.text(PRINTABLE, max_size=80).map(lambda t: t + ".")
)
ITEM = st.tuples(HEADLINE, st.lists(PARAGRAPH, min_size=1, max_size=4)).map(
    lambda item: [item[0], *item[1]]
)
ISSUES = st.tuples(st.lists(LINE, max_size=4), st.lists(ITEM, min_size=1, max_size=6)).map(
    lambda parts: "\n".join(parts[0] + [line for item in parts[1] for line in item])
)
TEXTS = st.one_of(
    st.text(max_size=400),
    st.lists(LINE, max_size=40).map("\n".join),
    ISSUES,
    ISSUES.map(lambda text: "<!doctype html><p>" + text.replace("\n", "<br>")),
)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """One folder for every drawn example (each run replaces the last with --force)."""
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXTS, dated=st.booleans())
def test_any_text_makes_a_valid_digest_or_a_clear_error(
    workdir: Path, text: str, dated: bool
) -> None:
    """Any text: exit 0 and a digest that `validate` accepts (with its review file), or
    exit 13 with one message line (and perhaps a hint) on stderr; never exit 9, never a
    traceback."""
    source, out = workdir / "source.txt", workdir / "digest.json"
    source.write_bytes(text.encode("utf-8"))
    out.unlink(missing_ok=True)
    args = ["--config", str(REPO / "config.yaml"), "import-text", str(source), "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, "--force", *(["--date", "2025-09-12"] * dated)])
    assert "Traceback" not in result.output + result.stderr
    event(f"exit {result.exit_code}")
    if result.exit_code == 0:
        load_digest(out)
        assert (workdir / "digest.review.txt").is_file()
    else:
        assert result.exit_code == EXIT_IMPORT, result.stderr
        assert not out.exists()
        lines = result.stderr.splitlines()
        assert 1 <= len(lines) <= 2 and lines[0].strip(), lines
        assert len(lines) == 1 or lines[1].startswith("hint: ")


@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=200))
def test_any_bytes_make_a_valid_digest_or_a_clear_error(workdir: Path, data: bytes) -> None:
    """Bytes that are not UTF-8 are refused with the offending byte; never a crash."""
    source = workdir / "bytes.txt"
    source.write_bytes(data)
    out = workdir / "bytes.json"
    args = ["--config", str(REPO / "config.yaml"), "import-text", str(source), "--out", str(out)]
    result = CliRunner().invoke(cli, [*args, "--force", "--date", "2025-09-12"])
    assert result.exit_code in (0, EXIT_IMPORT), result.stderr
    assert "Traceback" not in result.stderr
