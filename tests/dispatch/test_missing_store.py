"""The store never silently disappears (issue 10, item 7): a send whose SQLite file is
deleted or replaced stops with StoreError; commands refuse a missing store; a list with
nobody to send to is a warning with exit 1, and nothing is recorded."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from newsletter.errors import EXIT_PARTIAL, EXIT_STORE, StoreError
from newsletter.store import Store
from tests.dispatch.clirun import DIGEST, Project
from tests.dispatch.support import World


def _after_first_batch(world: World, action: Any) -> Any:
    """The outbox transport, which runs `action` once its first batch is delivered."""
    transport = world.transport()
    original = transport.send
    done: list[bool] = []

    def send(messages: Any, options: Any) -> Any:
        results = original(messages, options)
        if not done:
            done.append(True)
            action()
        return results

    transport.send = send  # type: ignore[method-assign]
    return transport


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_send_stops_when_its_sqlite_file_is_deleted_or_replaced(world: World, how: str) -> None:
    """Deleting the store file (or putting another file in its place) during a send makes
    the next claim or record a StoreError naming what happened; the send does not go on
    into a file nobody will read."""
    world.subscribe(500)
    path = Path(world.store.database.url.database or "")

    def swap() -> None:
        if how == "deleted":
            path.unlink()
        else:
            shutil.copy(path, path.with_suffix(".copy"))
            path.with_suffix(".copy").replace(path)

    transport = _after_first_batch(world, swap)
    with pytest.raises(StoreError) as caught:
        world.send(transport, batch_size=100, concurrency=1)
    assert f"the SQLite store {path} was {how}" in caught.value.message
    assert caught.value.exit_code == EXIT_STORE


@pytest.fixture
def project(tmp_path: Path) -> Project:
    made = Project(tmp_path)
    made.write_config()
    return made


@pytest.mark.parametrize(
    "args",
    [
        ["send", str(DIGEST), "--list", "weekly"],
        ["dispatch", "--date", "2025-09-13"],
        ["retry", str(DIGEST), "--list", "weekly"],
        ["cancel", str(DIGEST), "--list", "weekly"],
        ["preview", str(DIGEST), "--to", "ed@example.com"],
        ["status"],
        ["serve", "--port", "1"],
        ["archive", "--out", "site", "--base-url", "https://news.example.com"],
    ],
    ids=lambda args: args[0],
)
def test_every_sending_and_reading_command_refuses_a_missing_store(
    project: Project, args: list[str]
) -> None:
    """With no store at the configured URL each command stops with exit 7 and says the
    store does not exist; none creates one."""
    result = project.run(*args)
    assert result.exit_code == EXIT_STORE, result.output
    assert "no store: the SQLite store" in result.stderr and "does not exist" in result.stderr
    assert not (project.folder / "store.sqlite3").exists()


def test_sending_to_an_empty_list_warns_exits_1_and_records_nothing(project: Project) -> None:
    """A list with no active subscriber: a warning and exit 1, not "nothing to do" and 0;
    no send is recorded, so the issue still goes out once the list has members."""
    project.subscribe(3, list_name="editors")
    for args in (
        ["send", str(DIGEST), "--list", "weekly"],
        ["send", str(DIGEST), "--list", "weekly", "--dry-run"],  # says what a send would
        ["dispatch", "--date", "2025-09-13"],
    ):
        result = project.run(*args)
        assert result.exit_code == EXIT_PARTIAL, result.output
        assert "warning: weekly has no active subscribers" in result.stderr
    with Store.open(project.database) as store:
        assert store.sends.sends(None) == []
    project.subscribe(2)
    assert project.run("send", str(DIGEST), "--list", "weekly").exit_code == 0


HOSTILE = "550 5.1.1 \x1b]52;c;cm0gLXJmIH4=\x07\x1b[2K\r\x9b1mgone\u202e"


def test_status_prints_a_providers_error_text_inert(world: World, tmp_path: Path) -> None:
    """A failed delivery's error (a remote server's words, with an OSC 52 clipboard write,
    a line erase, a carriage return, a C1 CSI and a bidi override) is shown by
    `newsletter status` as visible escapes."""
    from dataclasses import replace

    from click.testing import CliRunner

    from newsletter.cli import cli

    world.subscribe(2)
    transport = world.transport()
    original = transport.send

    def refuse(messages: Any, options: Any) -> Any:
        return [replace(r, outcome="failed", error=HOSTILE) for r in original(messages, options)]

    transport.send = refuse  # type: ignore[method-assign]
    world.send(transport)
    config = tmp_path / "status.yaml"
    config.write_text(f"database:\n  url: {world.store.database.url.render_as_string()}\n")
    result = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert result.exit_code == 0, result.output
    assert all(ch == "\n" or ch.isprintable() for ch in result.output)
    assert "failed: reader0000001@example.com: 550 5.1.1 \\x1b]52;c;cm0gLXJmIH4=\\x07" in (
        result.stdout
    )
