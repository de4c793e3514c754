"""Approval bound to content, end to end on the outbox: `approve`, `approvals`, the
cron `dispatch` sending only what was approved (exit 12 otherwise), and `send` stopped
by the pre-send check unless `--force --reason` (recorded, shown by `status`)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import URL

from newsletter.api import approval
from newsletter.check import CheckReport, Finding, Severity
from newsletter.errors import (
    EXIT_BAD_INPUT,
    EXIT_CHECK_BLOCKED,
    EXIT_NOT_APPROVED,
    EXIT_OK,
    EXIT_STORE,
)
from newsletter.store import Store
from tests.conftest import REPO
from tests.dispatch.clirun import Project

TODAY = dt.date.today().isoformat()  # the dispatch below runs on the real "today"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """Approval required; a digests/ folder of its own holding a draft dated today."""
    made = Project(tmp_path)
    made.write_config(require_approval=True)
    settings = yaml.safe_load(made.config.read_text(encoding="utf-8"))
    settings["paths"]["digests"] = "digests"
    made.config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    draft = json.loads((REPO / "digests" / "2025-09-12.json").read_text(encoding="utf-8"))
    draft["date"] = TODAY
    (tmp_path / "digests").mkdir()
    (tmp_path / "digests" / f"{TODAY}.json").write_text(
        json.dumps(draft, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    made.subscribe(3)
    return made


def draft(project: Project) -> Path:
    return project.folder / "digests" / f"{TODAY}.json"


def edit_one_character(path: Path) -> None:
    """The kind of edit an editor makes after approving: one letter of a headline."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("EU weighs", "EU weigh", 1), encoding="utf-8")


def sent_to(project: Project, list_name: str = "weekly") -> int:
    box = project.folder / "outbox" / f"{TODAY}-{list_name}" / "new"
    return len(list(box.iterdir())) if box.exists() else 0


def test_an_unapproved_draft_dated_today_is_not_sent_then_approved_it_is(
    project: Project,
) -> None:
    """A draft saved into digests/ with today's date: `dispatch` (no --date: today) sends
    nothing, exits 12 and names the file and that nobody approved it; after `approve`
    the same command sends it."""
    result = project.run("dispatch")
    assert result.exit_code == EXIT_NOT_APPROVED, result.output
    assert f"weekly: {TODAY} NOT SENT" in result.stdout
    assert f"{draft(project)} ({TODAY}) is not approved: nobody approved it" in result.stderr
    assert f"newsletter approve {draft(project)}" in result.stderr
    assert sent_to(project) == 0
    assert "no sends recorded" in project.run("status").stdout

    approved = project.run("approve", str(draft(project)), "--by", "Aigerim")
    assert approved.exit_code == EXIT_OK, approved.output
    assert f"{TODAY} approved by Aigerim at " in approved.stdout
    sent = project.run("dispatch")
    assert sent.exit_code == EXIT_OK, sent.output
    assert sent_to(project) == 3


def test_one_character_edited_after_approval_is_not_sent(project: Project) -> None:
    """Approved, then one character changed: not sent, exit 12; the message names the
    file, who approved, when, and which version (short hashes, then and now);
    `approvals` shows the approval stale. A new approval sends the new version."""
    assert project.run("approve", str(draft(project)), "--by", "ann").exit_code == EXIT_OK
    with Store.open(project.database) as store:
        before = store.approvals.latest(TODAY)
    assert before is not None
    edit_one_character(draft(project))
    result = project.run("dispatch")
    assert result.exit_code == EXIT_NOT_APPROVED, result.output
    assert f"{draft(project)} ({TODAY}) changed since ann approved it at " in result.stderr
    assert f"content {before.content_hash[:12]} → now " in result.stderr
    assert sent_to(project) == 0
    listed = project.run("approvals")
    assert listed.exit_code == EXIT_OK
    assert f"{TODAY}  ann  " in listed.stdout and "  stale vs " in listed.stdout

    assert project.run("approve", str(draft(project)), "--by", "ann").exit_code == EXIT_OK
    assert project.run("dispatch").exit_code == EXIT_OK
    assert sent_to(project) == 3


def test_two_lists_and_two_approvals(project: Project) -> None:
    """Two weekly lists: unapproved, neither is sent (each says so). Approved by ann,
    edited, approved again by bob: the latest approval is the one that counts, both
    lists get the issue, and `approvals DIGEST` shows ann's stale and bob's current."""
    settings = yaml.safe_load(project.config.read_text(encoding="utf-8"))
    settings["lists"]["editors"]["weekly"] = True
    project.config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    project.subscribe(2, list_name="editors")  # the same two readers: one copy each
    project.run("subscribers", "add", "ed@example.com", "--list", "editors")

    refused = project.run("dispatch")
    assert refused.exit_code == EXIT_NOT_APPROVED
    assert f"weekly: {TODAY} NOT SENT" in refused.stdout
    assert f"editors: {TODAY} NOT SENT" in refused.stdout

    assert project.run("approve", str(draft(project)), "--by", "ann").exit_code == EXIT_OK
    edit_one_character(draft(project))
    assert project.run("approve", str(draft(project)), "--by", "bob").exit_code == EXIT_OK
    sent = project.run("dispatch")
    assert sent.exit_code == EXIT_OK, sent.output
    assert sent_to(project, "weekly") + sent_to(project, "editors") == 4
    listed = project.run("approvals", str(draft(project))).stdout.splitlines()
    assert len(listed) == 2
    assert "  ann  " in listed[0] and "stale" in listed[0] and "(latest)" not in listed[0]
    assert "  bob  " in listed[1] and "current" in listed[1] and listed[1].endswith("(latest)")


def test_approval_off_in_config_sends_the_unapproved_draft(project: Project) -> None:
    """approval.required_for_dispatch: false: dispatch sends the due draft unapproved."""
    settings = yaml.safe_load(project.config.read_text(encoding="utf-8"))
    settings["approval"] = {"required_for_dispatch": False}
    project.config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    result = project.run("dispatch")
    assert result.exit_code == EXIT_OK, result.output
    assert sent_to(project) == 3


def test_approve_defaults_to_the_login_name_and_once_per_version(project: Project) -> None:
    """Without --by the approver is $USER; approving the same version again by the same
    person adds no row (it says it was already approved); a name that is not one line
    is refused (exit 3); with no store at all, approve refuses (exit 7) and makes none."""
    first = project.run("approve", str(draft(project)), env={"USER": "dana"})
    again = project.run("approve", str(draft(project)), env={"USER": "dana"})
    assert first.exit_code == again.exit_code == EXIT_OK
    assert "was already approved by dana" in again.stdout
    with Store.open(project.database) as store:
        assert [a.approved_by for a in store.approvals.history()] == ["dana"]
    bad = project.run("approve", str(draft(project)), "--by", "ann\nBcc: x")
    assert bad.exit_code == EXIT_BAD_INPUT
    assert "control character or line break" in bad.stderr
    (project.folder / "store.sqlite3").unlink()
    missing = project.run("approve", str(draft(project)), "--by", "ann")
    assert missing.exit_code == EXIT_STORE
    assert not (project.folder / "store.sqlite3").exists()


# ------------------------------------------------------- the pre-send check on `approve`, `send`


@pytest.fixture
def blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pre-send check finds one blocking problem in every digest (the real check's
    findings on a real digest: test_a_digest_with_a_placeholder_is_refused_by_the_check)."""
    found = Finding(Severity.BLOCKING, "image-alt", "hero.alt", "an image without alt text", "")
    monkeypatch.setattr(
        approval,
        "gate",
        lambda config, path, tools=True: CheckReport(path, "2025-09-12", (found,), ()),
    )


@pytest.mark.usefixtures("blocked")
def test_a_blocked_digest_is_neither_approved_nor_sent(project: Project) -> None:
    """Blocking findings: `approve` refuses (exit 11, each finding listed, nothing
    recorded); `send` refuses (exit 11), also with --force alone, and a dry run says the
    same; --reason without --force is a usage mistake (exit 3)."""
    refused = project.run("approve", str(draft(project)), "--by", "ann")
    assert refused.exit_code == EXIT_CHECK_BLOCKED
    assert "the pre-send check found a blocking problem; not approved" in refused.stderr
    assert "blocking: hero.alt: an image without alt text" in refused.stderr
    assert project.run("approvals").stdout.strip() == "no approvals recorded"
    for extra in ((), ("--force",), ("--dry-run",)):
        sent = project.run("send", str(draft(project)), "--list", "weekly", *extra)
        assert sent.exit_code == EXIT_CHECK_BLOCKED, (extra, sent.output)
        assert '--force --reason "why it must go out as it is"' in sent.stderr
    alone = project.run("send", str(draft(project)), "--list", "weekly", "--reason", "why")
    assert alone.exit_code == EXIT_BAD_INPUT
    assert "--reason goes with --force" in alone.stderr
    assert sent_to(project) == 0
    assert "no sends recorded" in project.run("status").stdout


@pytest.mark.usefixtures("blocked")
def test_force_with_a_reason_sends_and_status_shows_why_who_and_when(project: Project) -> None:
    """`send --force --reason` goes past the blocking finding; the ledger keeps the
    reason, who ($USER without --by) and when, and `status` shows them (made inert)."""
    reason = "the alt text is in the caption \x1b[2K"
    args = ("send", str(draft(project)), "--list", "weekly", "--force", "--reason", reason)
    assert project.run(*args).exit_code == EXIT_BAD_INPUT  # a control character: refused
    sent = project.run(*args[:-1], "the alt text is in the caption", env={"USER": "dana"})
    assert sent.exit_code == EXIT_OK, sent.output
    assert sent_to(project) == 3
    status = project.run("status", TODAY).stdout
    assert "  forced past the pre-send check by dana at " in status
    assert status.rstrip().endswith("UTC: the alt text is in the caption")
    with Store.open(project.database) as store:
        record = store.sends.find_send(TODAY, "weekly")
    assert record is not None and record.forced_at is not None
    assert (record.force_reason, record.forced_by) == ("the alt text is in the caption", "dana")


# ------------------------------------------------------------------ on PostgreSQL


@pytest.fixture
def on_postgres(project: Project, postgres_admin: Callable[[], URL]) -> dict[str, str]:
    """The project's store moved to a fresh PostgreSQL schema, subscribers and all."""
    url = postgres_admin().render_as_string(hide_password=False)
    env = {"NEWSLETTER_DATABASE_URL": url}
    with Store.open(url, create=True) as store:
        store.subscribers.add("pg@example.com", "weekly")
    return env


def test_approval_gates_dispatch_on_postgresql(
    project: Project, on_postgres: dict[str, str]
) -> None:
    """The same rule with the store on PostgreSQL: unapproved → exit 12; approved → sent;
    edited → the next issue version waits (approvals shows it stale)."""
    assert project.run("dispatch", env=on_postgres).exit_code == EXIT_NOT_APPROVED
    approved = project.run("approve", str(draft(project)), "--by", "ann", env=on_postgres)
    assert approved.exit_code == EXIT_OK, approved.output
    assert project.run("dispatch", env=on_postgres).exit_code == EXIT_OK
    assert sent_to(project) == 1
    edit_one_character(draft(project))
    assert "stale vs" in project.run("approvals", env=on_postgres).stdout


def test_a_digest_with_a_placeholder_is_refused_by_the_check(project: Project) -> None:
    """The real gate, no stand-in: a draft whose first summary still holds "TODO" is
    refused by `approve` (exit 11, the finding at its JSON path) and by `send` (exit
    11); nothing is recorded or sent. Fixed, it is approved."""
    path = draft(project)
    data = json.loads(path.read_text(encoding="utf-8"))
    original = data["items"][0]["summary"]
    first = original[0] if isinstance(original, list) else original
    leftover = "TODO: add the second paragraph. " + first
    data["items"][0]["summary"] = (
        [leftover, *original[1:]] if isinstance(original, list) else leftover
    )
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    refused = project.run("approve", str(path), "--by", "ann")
    assert refused.exit_code == EXIT_CHECK_BLOCKED, refused.output
    assert "items[0].summary" in refused.stderr
    sent = project.run("send", str(path), "--list", "weekly")
    assert sent.exit_code == EXIT_CHECK_BLOCKED, sent.output
    assert sent_to(project) == 0
    assert project.run("approvals").stdout.strip() == "no approvals recorded"
    data["items"][0]["summary"] = original
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert project.run("approve", str(path), "--by", "ann").exit_code == 0
