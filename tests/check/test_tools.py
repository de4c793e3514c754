"""The tool-based checks: SpamAssassin's score and axe-core in headless Chromium.

Each has a failing fixture (a fake SpamAssassin that scores high; an email with an image
without alt text) and passes on every sample digest with the real tools. A missing tool
skips its check with a note, never silently (and fails these tests in CI)."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from newsletter.check import check_issue
from newsletter.check.axe import axe_check
from newsletter.check.spam import spam_check
from newsletter.check.tools import chromium as find_chromium
from tests.check.support import found, project_config, rendered_clean
from tests.conftest import SAMPLE_DIGESTS
from tests.tools import axe_js, chromium, find_tool

FAKE_SPAMASSASSIN = """#!{python}
import sys
message = sys.stdin.buffer.read()
header = b"X-Spam-Status: {verdict}, score={score} required=5.0 tests=FAKE_ONE,\\n\\tFAKE_TWO\\n"
sys.stdout.buffer.write(header + message)
"""


def fake_spamassassin(folder: Path, score: str) -> Path:
    """An executable that answers like `spamassassin -t` with the given score."""
    path = folder / "spamassassin"
    verdict = "Yes" if float(score) >= 5 else "No"
    path.write_text(
        FAKE_SPAMASSASSIN.format(python=sys.executable, verdict=verdict, score=score),
        encoding="utf-8",
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_a_positive_spam_score_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A score above 0 blocks, naming the score and SpamAssassin's tests (its header
    folded over two lines, as SpamAssassin writes it)."""
    monkeypatch.setenv("NEWSLETTER_SPAMASSASSIN", str(fake_spamassassin(tmp_path, "0.1")))
    findings, notes = spam_check(b"Subject: x\r\n\r\nbody\r\n")
    assert found(findings) == {("blocking", "spam-score", "")}
    assert "0.1" in findings[0].message and "FAKE_ONE,FAKE_TWO" in findings[0].message
    assert notes == ()


@pytest.mark.parametrize("score", ["0.0", "-0.0", "-1.2"])
def test_a_spam_score_of_zero_or_less_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, score: str
) -> None:
    """0 and below pass, with no note."""
    monkeypatch.setenv("NEWSLETTER_SPAMASSASSIN", str(fake_spamassassin(tmp_path, score)))
    assert spam_check(b"Subject: x\r\n\r\nbody\r\n") == ((), ())


def test_without_spamassassin_the_check_is_skipped_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No spamassassin: no finding, and a note that says why and how to point at it."""
    monkeypatch.setenv("NEWSLETTER_SPAMASSASSIN", str(tmp_path / "absent"))
    findings, notes = spam_check(b"Subject: x\r\n\r\nbody\r\n")
    assert findings == ()
    assert len(notes) == 1 and "NEWSLETTER_SPAMASSASSIN" in notes[0]


def test_without_chromium_or_axe_the_check_is_skipped_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No Chromium, or no axe-core: no finding, a note naming the variable to set."""
    monkeypatch.setenv("NEWSLETTER_CHROMIUM", str(tmp_path / "absent"))
    assert axe_check("<p>x</p>", tmp_path)[1][0].endswith("(or set NEWSLETTER_CHROMIUM)")
    monkeypatch.delenv("NEWSLETTER_CHROMIUM")
    monkeypatch.setenv("NEWSLETTER_AXE_JS", str(tmp_path / "absent.js"))
    if find_chromium() is not None:  # else the Chromium note comes first
        assert "NEWSLETTER_AXE_JS" in axe_check("<p>x</p>", tmp_path)[1][0]


@pytest.fixture
def axe_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real Chromium and axe-core (skipped locally, failing in CI, when absent)."""
    monkeypatch.setenv("NEWSLETTER_CHROMIUM", str(chromium()))
    monkeypatch.setenv("NEWSLETTER_AXE_JS", str(axe_js()))
    pytest.importorskip("playwright.sync_api")


@pytest.mark.browser
@pytest.mark.usefixtures("axe_tools")
def test_a_serious_accessibility_violation_blocks(tmp_path: Path) -> None:
    """axe-core in headless Chromium finds an image without alt text (critical) in the
    real email, at every width and colour scheme, with the element's selector."""
    html = rendered_clean().html.replace("<body", '<body><img src="https://a.kz/x.png"><span', 1)
    findings, notes = axe_check(html, tmp_path)
    assert notes == ()
    assert ("blocking", "axe/image-alt", "") in found(findings)
    [finding] = [f for f in findings if f.rule == "axe/image-alt"]
    assert "375 px light, 375 px dark, 1024 px light, 1024 px dark" in finding.message
    assert "img" in finding.message and "dequeuniversity.com" in finding.fix


@pytest.mark.browser
@pytest.mark.timeout(600)
@pytest.mark.usefixtures("axe_tools")
@pytest.mark.parametrize("digest", SAMPLE_DIGESTS, ids=lambda p: p.stem)
def test_every_sample_digest_passes_the_whole_check(
    digest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each sample digest, with every tool (SpamAssassin score ≤ 0; axe-core: no serious
    or critical violation at 375 px and 1024 px, light and dark): no blocking finding,
    and no check skipped."""
    monkeypatch.setenv(
        "NEWSLETTER_SPAMASSASSIN", str(find_tool("NEWSLETTER_SPAMASSASSIN", "spamassassin"))
    )
    report = check_issue(project_config(), digest)
    assert report.skipped == ()
    assert report.blocking == (), report.blocking
