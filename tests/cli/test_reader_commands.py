"""`newsletter subscribers export-person` and `forget` through click, as a user runs them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter.config import load_config
from newsletter.store import Source, Store
from tests.cli.test_subscriber_commands import run
from tests.store.conftest import write_csv

SECRET = "cli-tests-secret-0123456789abcdefghijklm"  # noqa: S105 - a test secret


@pytest.fixture
def synced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose weekly list (ann, bob) is in the store; NEWSLETTER_SECRET set."""
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    (tmp_path / "config.yaml").write_text(
        "database:\n  url: sqlite:///store.sqlite3\n"
        "lists:\n  weekly:\n    file: weekly.csv\n    weekly: true\n",
        encoding="utf-8",
    )
    write_csv(tmp_path / "weekly.csv", "email,name\nann@example.com,Ann\nbob@example.org,Bob\n")
    assert run(tmp_path, "subscribers", "sync").exit_code == 0
    return tmp_path


def test_export_person_prints_json(synced: Path) -> None:
    """The export is JSON on stdout naming the address, its name and its list."""
    result = run(synced, "subscribers", "export-person", "Ann@Example.com")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["subscriber"]["email"] == "ann@example.com"
    assert data["subscriber"]["name"] == "Ann"
    assert data["lists"][0]["list"] == "weekly"


def test_export_person_of_an_unknown_address_is_exit_3(synced: Path) -> None:
    """Nothing stored: one line on stderr, exit 3, no traceback."""
    result = run(synced, "subscribers", "export-person", "nobody@example.com")
    assert result.exit_code == 3
    assert "no such subscriber" in result.stderr and "Traceback" not in result.output


def test_forget_asks_then_erases_and_prints_no_address(synced: Path) -> None:
    """Without --yes it asks (no answer: nothing erased, exit 1); with --yes it erases
    and says so by id; export then finds nothing; a second forget says erased before."""
    refused = run(synced, "subscribers", "forget", "ann@example.com")
    assert refused.exit_code == 1
    assert run(synced, "subscribers", "export-person", "ann@example.com").exit_code == 0
    done = run(synced, "subscribers", "forget", "ann@example.com", "--yes")
    assert done.exit_code == 0, done.output
    assert "erased subscriber #" in done.stdout and "ann" not in done.stdout
    assert run(synced, "subscribers", "export-person", "ann@example.com").exit_code == 3
    again = run(synced, "subscribers", "forget", "ann@example.com", "--yes")
    assert again.exit_code == 0 and "erased before" in again.stdout


def test_forget_without_the_secret_is_exit_4(synced: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No NEWSLETTER_SECRET: a configuration error naming it, nothing erased."""
    monkeypatch.delenv("NEWSLETTER_SECRET")
    result = run(synced, "subscribers", "forget", "bob@example.org", "--yes")
    assert result.exit_code == 4 and "NEWSLETTER_SECRET" in result.stderr
    assert run(synced, "subscribers", "export-person", "bob@example.org").exit_code == 0


def test_show_prints_a_pause(synced: Path) -> None:
    """`subscribers show` says until when a paused reader gets no mail."""
    config = load_config(synced / "config.yaml")
    with Store.from_config(config) as store:
        ann = store.subscribers.get("ann@example.com")
        assert ann is not None
        store.subscribers.pause(ann.id, datetime(2099, 1, 2, tzinfo=UTC), source=Source.WEB)
    result = run(synced, "subscribers", "show", "ann@example.com")
    assert "paused:     until 2099-01-02 00:00 UTC" in result.stdout
