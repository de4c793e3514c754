"""The MJML the templates produce passes the official MJML validator in strict mode."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from newsletter.config import load_config
from newsletter.digest import load_digest, parse_digest
from newsletter.render import render_issue
from tests.conftest import REPO, SAMPLE_DIGESTS
from tests.render.test_injection import HOSTILE, hostile_digest
from tests.tools import mjml_validator


def validate_strict(mjml_source: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    source = tmp_path / "email.mjml"
    source.write_text(mjml_source, encoding="utf-8")
    return subprocess.run(
        [str(mjml_validator()), str(source), "--config.validationLevel=strict", "-s"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("digest_path", SAMPLE_DIGESTS, ids=lambda p: p.stem)
def test_sample_mjml_is_strictly_valid(digest_path: Path, tmp_path: Path) -> None:
    """Each sample digest's MJML passes `mjml --config.validationLevel=strict`."""
    issue = render_issue(load_digest(digest_path), load_config(REPO / "config.yaml"))
    result = validate_strict(issue.mjml, tmp_path)
    assert result.returncode == 0, result.stderr


def test_hostile_text_keeps_mjml_valid(tmp_path: Path) -> None:
    """MJML-looking digest text cannot break the document's structure."""
    digest = parse_digest(json.dumps(hostile_digest(HOSTILE[0] + HOSTILE[4])))
    result = validate_strict(render_issue(digest, load_config(REPO / "config.yaml")).mjml, tmp_path)
    assert result.returncode == 0, result.stderr


def test_validator_rejects_bad_mjml(tmp_path: Path) -> None:
    """The validator really runs strict: an illegal attribute fails it."""
    bad = '<mjml><mj-body><mj-section><mj-column><mj-text foo="1">x</mj-text>'
    bad += "</mj-column></mj-section></mj-body></mjml>"
    result = validate_strict(bad, tmp_path)
    assert result.returncode != 0 and "foo" in result.stderr
