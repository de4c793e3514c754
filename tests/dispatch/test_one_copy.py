"""One copy per reader per issue, across lists (issue 9, item 6).

A reader on two lists gets an issue once: under the list whose send took them
first. The other list's send records them as already sent via that list, so
nobody silently vanishes from its numbers, and this holds when two processes
send the two lists at the same moment, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import make_url, text

from newsletter.dispatch.engine import SendReport, SendRequest
from newsletter.errors import EXIT_OK
from newsletter.store import Store
from newsletter.transports.memory import MemoryTransport
from tests.delivery_support import sample_issue
from tests.dispatch.clirun import Project
from tests.dispatch.support import World


def send_list(world: World, list_name: str, transport: MemoryTransport) -> SendReport:
    """Send the sample issue to one list through `transport`."""
    issue = sample_issue(world.config, list_name)
    return world.dispatcher(transport).send(SendRequest(issue, list_name, "memory"))


def test_reader_on_two_lists_gets_one_copy(any_world: World) -> None:
    """Readers on both lists get the issue once, under the first list sent; the second
    list's send counts them as already sent via the first, and sends everyone else."""
    weekly = any_world.subscribe(100, list_name="weekly")  # readers 1–100
    editors = any_world.subscribe(100, start=51, list_name="editors")  # readers 51–150
    first, second = MemoryTransport(), MemoryTransport()
    sent_weekly = send_list(any_world, "weekly", first)
    sent_editors = send_list(any_world, "editors", second)
    assert sent_weekly.counts == {"accepted": 100}
    assert sent_weekly.already_sent_via == {}
    assert sent_editors.counts == {"accepted": 50}
    assert sent_editors.already_sent_via == {"weekly": 50}
    assert sent_editors.send.state == "finished"
    assert not sent_editors.needs_attention
    reached = Counter(first.recipients() + second.recipients())
    assert set(reached.values()) == {1}
    assert set(reached) == set(weekly) | set(editors)
    assert sorted(second.recipients()) == sorted(set(editors) - set(weekly))


def test_every_reader_already_sent_elsewhere_finishes_with_nobody(world: World) -> None:
    """A list whose members all got the issue through another list sends nothing and
    finishes; its report says where they got it."""
    world.subscribe(30, list_name="weekly")
    world.subscribe(30, list_name="editors")
    send_list(world, "weekly", MemoryTransport())
    transport = MemoryTransport()
    report = send_list(world, "editors", transport)
    assert transport.calls == 0
    assert report.counts == {}
    assert report.already_sent_via == {"weekly": 30}
    assert report.send.state == "finished"


def test_two_lists_sent_at_once_by_two_runs_reach_each_reader_once(
    any_world: World, request: pytest.FixtureRequest
) -> None:
    """Two runs (each its own store connection, as two processes have) send the two
    lists at the same moment: no reader is in both sends, nobody is missing."""
    weekly = any_world.subscribe(300, list_name="weekly")
    editors = any_world.subscribe(300, start=101, list_name="editors")
    twin = World(
        config=any_world.config,
        store=Store.open(any_world.store.database.url),
        issue=any_world.issue,
    )
    request.addfinalizer(twin.store.close)
    transports = {"weekly": MemoryTransport(max_batch=50), "editors": MemoryTransport(max_batch=50)}
    reports: dict[str, SendReport] = {}
    start = threading.Barrier(2)

    def run(world: World, list_name: str) -> None:
        start.wait()
        reports[list_name] = send_list(world, list_name, transports[list_name])

    threads = [
        threading.Thread(target=run, args=(any_world, "weekly")),
        threading.Thread(target=run, args=(twin, "editors")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    reached = Counter(e for t in transports.values() for e in t.recipients())
    assert set(reached.values()) == {1}
    assert set(reached) == set(weekly) | set(editors)
    overlap = {name: sum(r.already_sent_via.values()) for name, r in reports.items()}
    assert sum(overlap.values()) == 200  # the 200 on both lists, counted by the list left out


def test_concurrent_freeze_waits_for_the_other_on_postgresql(
    any_world: World, request: pytest.FixtureRequest
) -> None:
    """On PostgreSQL a freeze of the same issue waits until another one commits, then
    leaves out the readers that one took (without the wait, neither transaction would
    see the other's uncommitted deliveries and both would take the reader)."""
    if make_url(str(any_world.store.database.url)).get_backend_name() != "postgresql":
        pytest.skip("SQLite serialises every write transaction (BEGIN IMMEDIATE) already")
    from newsletter.store import ledger

    any_world.subscribe(20, list_name="weekly")
    any_world.subscribe(20, list_name="editors")
    issue = any_world.issue
    other = Store.open(any_world.store.database.url)
    request.addfinalizer(other.close)
    frozen = threading.Event()
    result: dict[str, object] = {}

    def freeze_editors() -> None:
        result["send"] = other.sends.open_send(
            issue_id=issue.issue_id,
            list_name="editors",
            content_hash=issue.content_hash,
            message_hash=issue.message_hash,
            transport="memory",
        )
        frozen.set()

    with any_world.store.database.write() as conn:  # the weekly freeze, not yet committed
        ledger.create_send(
            conn,
            issue_id=issue.issue_id,
            list_name="weekly",
            content_hash=issue.content_hash,
            message_hash=issue.message_hash,
            transport="memory",
            now=datetime.now(UTC),
        )
        thread = threading.Thread(target=freeze_editors)
        thread.start()
        with Store.open(any_world.store.database.url) as watcher:
            waiting = 0
            for _ in range(600):  # until the editors freeze is seen waiting on our lock
                # A fresh read transaction each time: each sees the locks as they are now.
                with watcher.database.read() as look:
                    waiting = look.execute(
                        text(
                            "select count(*) from pg_locks where locktype = 'advisory' "
                            "and not granted and database = "
                            "(select oid from pg_database where datname = current_database())"
                        )
                    ).scalar_one()
                if waiting:
                    break
                threading.Event().wait(0.05)
        assert waiting == 1
        assert not frozen.is_set()
    thread.join(60)
    record = any_world.store.sends.find_send(issue.issue_id, "editors")
    assert record is not None
    assert any_world.store.sends.send_counts(record.id) == {}
    assert any_world.store.sends.send_overlaps(record.id) == {"weekly": 20}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A project whose two lists are both weekly."""
    made = Project(tmp_path)
    made.write_config()
    settings = yaml.safe_load(made.config.read_text(encoding="utf-8"))
    settings["lists"]["editors"]["weekly"] = True
    made.config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return made


def test_dispatch_to_two_weekly_lists_sends_one_copy_and_says_so(project: Project) -> None:
    """`dispatch` with a reader on two weekly lists: one copy; the summary and `status`
    show them as already sent via the first list."""
    project.subscribe(5, list_name="weekly")
    project.subscribe(5, list_name="editors")
    result = project.run("dispatch", "--date", "2025-09-14")
    assert result.exit_code == EXIT_OK, result.output
    # Lists are dispatched in config.yaml's order: here editors first, then weekly.
    assert "2025-09-12 → editors (outbox): finished" in result.stdout
    assert "2025-09-12 → weekly (outbox): finished (0 sent" in result.stdout
    assert "already sent via editors 5" in result.stdout
    status = project.run("status", "2025-09-12")
    assert "2025-09-12 → weekly (outbox): finished" in status.stdout
    assert "already sent via editors 5" in status.stdout
    boxes = sorted(path.name for path in (project.folder / "outbox").iterdir())
    assert boxes == ["2025-09-12-editors"]
