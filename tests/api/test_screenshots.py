"""`Newsletter.screenshot`: four full-height PNGs through headless Chromium, and a clear
ConfigError (never a traceback) when there is no Chromium."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from newsletter import Newsletter
from newsletter.errors import ConfigError
from tests.api.project import DIGEST, write_project
from tests.tools import chromium

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk (the first, right after the signature)."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


@pytest.mark.browser
def test_four_pngs_of_the_right_widths_and_dark_differs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """375 and 600 px, light and dark, full height (taller than the 900 px window); the
    dark pictures are not the light ones; the result lists them in that order."""
    monkeypatch.setenv("NEWSLETTER_CHROMIUM", str(chromium()))
    api = Newsletter.from_config(write_project(tmp_path))
    result = api.screenshot(DIGEST, tmp_path / "shots", offline=True)
    assert result.issue_id == "2025-09-12"
    assert [(s.path.name, s.width, s.scheme) for s in result.files] == [
        ("email-375-light.png", 375, "light"),
        ("email-375-dark.png", 375, "dark"),
        ("email-600-light.png", 600, "light"),
        ("email-600-dark.png", 600, "dark"),
    ]
    for shot in result.files:
        width, height = png_size(shot.path)
        assert (width, height) == (shot.width, shot.height) and height > 900
    for width in (375, 600):
        light = (tmp_path / "shots" / f"email-{width}-light.png").read_bytes()
        dark = (tmp_path / "shots" / f"email-{width}-dark.png").read_bytes()
        assert light != dark


def test_no_chromium_is_a_config_error_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NEWSLETTER_CHROMIUM names nothing: ConfigError (exit 4) naming the variable and
    how to install Chromium; no file is written."""
    monkeypatch.setenv("NEWSLETTER_CHROMIUM", str(tmp_path / "no-chromium"))
    api = Newsletter.from_config(write_project(tmp_path))
    with pytest.raises(ConfigError, match="Chromium not found") as caught:
        api.screenshot(DIGEST, tmp_path / "shots")
    assert caught.value.exit_code == 4
    assert "apt-get install chromium" in (caught.value.hint or "")
    assert not (tmp_path / "shots").exists()


@pytest.mark.browser
def test_from_inside_asyncio_it_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Playwright's synchronous API refuses to run inside an event loop: a library caller
    in async code gets a ConfigError saying what to do, not Playwright's traceback."""
    import asyncio

    monkeypatch.setenv("NEWSLETTER_CHROMIUM", str(chromium()))
    api = Newsletter.from_config(write_project(tmp_path))

    async def inside() -> None:
        api.screenshot(DIGEST, tmp_path / "shots", offline=True)

    with pytest.raises(ConfigError, match="Playwright did not start") as caught:
        asyncio.run(inside())
    assert "synchronous code" in (caught.value.hint or "")
