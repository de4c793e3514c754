"""Fixtures shared by the whole suite."""

from __future__ import annotations

import copy
import logging
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from newsletter.config import Config, load_config
from newsletter.digest import Digest, parse_digest
from tests.tools import chromium

# The suite-wide leak check (tests/secret_scan.py); pytester proves it fails on a leak.
pytest_plugins = ["tests.secret_scan", "pytester"]

REPO = Path(__file__).resolve().parent.parent

# Property tests draw the same examples on every run (a seed derived from each test), so
# CI is deterministic; HYPOTHESIS_PROFILE=explore searches afresh each run, by hand.
hypothesis_settings.register_profile("deterministic", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

# The tests' own HTTP clients log every URL they request (tokens included) at INFO:
# that is the test's side of the wire, not the product's output, so they stay quiet.
for _client_logger in ("httpx", "httpx2", "httpcore"):
    logging.getLogger(_client_logger).setLevel(logging.WARNING)
SAMPLE_DIGESTS = sorted((REPO / "digests").glob("*.json"))

MINIMAL_DIGEST: dict[str, Any] = {
    "title": "Foreign Media on Kazakhstan’s Diplomacy, and More",
    "date": "2025-09-12",
    "intro": "ASTANA – The Astana Times has curated a selection of articles.",
    "items": [
        {
            "headline": "EU weighs strategy as Kazakhstan deepens partnership with China",
            "outlet": "Euractiv",
            "published": "2025-09-11",
            "url": "https://www.euractiv.com/section/central-asia/kazakhstan",
            "summary": "Euractiv published an article on Sept. 11.",
            "quote": {"text": "Europe needs to move strategically.", "cite": "reads the article"},
        }
    ],
}


CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright, launched once for all browser tests
    (skips locally, fails in CI, when it is missing)."""
    executable = chromium()
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def config() -> Config:
    """The project's own config.yaml, as the CLI would load it from the repo."""
    return load_config(REPO / "config.yaml")


@pytest.fixture
def digest_data() -> dict[str, Any]:
    """A fresh, valid digest as a dict, safe to mutate."""
    return copy.deepcopy(MINIMAL_DIGEST)


@pytest.fixture
def make_digest() -> Callable[..., Digest]:
    """Build a valid Digest from MINIMAL_DIGEST with top-level overrides."""
    import json

    def build(**overrides: Any) -> Digest:
        return parse_digest(json.dumps({**copy.deepcopy(MINIMAL_DIGEST), **overrides}))

    return build


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Fail any attempt to open a network connection; yields the attempts."""
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError(f"network access attempted during a test: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: refuse(None, a))  # type: ignore[misc]
    return attempts
