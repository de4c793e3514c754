"""The sending commands end to end on the outbox: send, dispatch, status, retry, preview."""

from __future__ import annotations

import email
import re
from pathlib import Path

import pytest

from newsletter.errors import EXIT_BAD_INPUT, EXIT_CONFIG, EXIT_LOCKED, EXIT_OK, EXIT_PARTIAL
from newsletter.transports.outbox import read_outbox
from tests.conftest import REPO
from tests.dispatch.clirun import DIGEST, Project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    made = Project(tmp_path)
    made.write_config()
    made.store().close()  # only explicit commands create a store (issue 10, item 7)
    return made


def outbox_recipients(maildir: Path) -> list[str]:
    parsed = (email.message_from_bytes(raw) for raw in read_outbox(maildir))
    return [str(message["To"]) for message in parsed]


def test_send_then_again(project: Project) -> None:
    """send delivers to every member once; the second run says so and sends nothing."""
    project.subscribe(30)
    first = project.run("send", str(DIGEST), "--list", "weekly")
    assert first.exit_code == EXIT_OK, first.output
    assert "2025-09-12 → weekly (outbox): finished" in first.stdout
    assert "accepted 30" in first.stdout
    second = project.run("send", str(DIGEST), "--list", "weekly")
    assert second.exit_code == EXIT_OK
    assert "already sent; nothing to do" in second.stdout
    assert len(outbox_recipients(project.folder / "outbox/2025-09-12-weekly")) == 30


def test_dry_run_sends_and_records_nothing(project: Project) -> None:
    """--dry-run validates, renders and counts; no message, no ledger record."""
    project.subscribe(12)
    result = project.run("send", str(DIGEST), "--list", "weekly", "--dry-run")
    assert result.exit_code == EXIT_OK, result.output
    assert "would send" in result.stdout
    assert "to 12 active members of weekly via outbox" in result.stdout
    assert not (project.folder / "outbox").exists()
    assert "no sends recorded" in project.run("status").stdout


def test_dispatch_picks_the_due_digest(project: Project) -> None:
    """dispatch sends the newest digest dated on or before today, once."""
    project.subscribe(5)
    early = project.run("dispatch", "--date", "2025-01-01")
    assert early.exit_code == EXIT_OK
    assert "no digest dated on or before 2025-01-01; nothing to do" in early.stdout
    sent = project.run("dispatch", "--date", "2025-09-14")
    assert sent.exit_code == EXIT_OK, sent.output
    assert "2025-09-12 → weekly (outbox): finished" in sent.stdout
    again = project.run("dispatch", "--date", "2025-09-14")
    assert "weekly: 2025-09-12 was already sent; nothing to do" in again.stdout
    later = project.run("dispatch", "--date", "2026-03-01")
    assert "2026-02-06 → weekly (outbox): finished" in later.stdout


def test_status_reports_each_send(project: Project) -> None:
    """status lists issue, list, state, times and counts."""
    project.subscribe(3)
    project.run("send", str(DIGEST), "--list", "weekly")
    result = project.run("status", "2025-09-12")
    assert result.exit_code == EXIT_OK
    assert "2025-09-12 → weekly (outbox): finished, started" in result.stdout
    assert "accepted 3" in result.stdout


def test_preview_goes_to_editors_and_touches_no_ledger(project: Project) -> None:
    """preview sends [PREVIEW] to the editors list and writes .eml files; no send record."""
    project.subscribe(2, list_name="editors")
    result = project.run("preview", str(DIGEST), "--eml", str(project.folder / "eml"))
    assert result.exit_code == EXIT_OK, result.output
    emls = sorted((project.folder / "eml").glob("*.eml"))
    assert len(emls) == 2
    assert "Subject: [PREVIEW] Foreign Media" in emls[0].read_text(encoding="utf-8")
    assert "List-Unsubscribe: <https://news.example.com/unsubscribe/" in emls[0].read_text()
    assert len(outbox_recipients(project.folder / "outbox/2025-09-12-preview")) == 2
    assert "no sends recorded" in project.run("status").stdout


def test_preview_to_any_address(project: Project) -> None:
    """--to sends to an address that is on no list."""
    result = project.run("preview", str(DIGEST), "--to", "guest@example.org")
    assert result.exit_code == EXIT_OK, result.output
    assert "guest@example.org: accepted" in result.stdout


def test_preview_of_invalid_digest_sends_nothing(project: Project, tmp_path: Path) -> None:
    """An invalid digest stops preview before anything is sent."""
    bad = tmp_path / "bad.json"
    bad.write_text('{"title": "x"}', encoding="utf-8")
    result = project.run("preview", str(bad), "--to", "guest@example.org")
    assert result.exit_code == EXIT_BAD_INPUT
    assert not (project.folder / "outbox").exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["send", str(DIGEST), "--list", "nope"], EXIT_BAD_INPUT, "list 'nope' is not declared"),
        (["send", "missing.json", "--list", "weekly"], EXIT_BAD_INPUT, "no such file"),
        (
            ["send", str(DIGEST), "--list", "weekly", "--at", "2030-01-01 09:00 UTC"],
            EXIT_BAD_INPUT,
            "--at needs the sendgrid transport",
        ),
        (["retry", str(DIGEST), "--list", "weekly"], EXIT_BAD_INPUT, "was never sent to weekly"),
        (["cancel", str(DIGEST), "--list", "weekly"], EXIT_BAD_INPUT, "no scheduled send"),
    ],
)
def test_bad_requests_get_clear_errors(
    project: Project, args: list[str], code: int, message: str
) -> None:
    """Each mistake is one clear message and its own exit code, no traceback."""
    result = project.run(*args)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_missing_secret_is_a_config_error(project: Project) -> None:
    """Without NEWSLETTER_SECRET nothing is sent and the variable is named."""
    project.subscribe(1)
    result = project.run("send", str(DIGEST), "--list", "weekly", env={"NEWSLETTER_SECRET": ""})
    assert result.exit_code == EXIT_CONFIG
    assert "NEWSLETTER_SECRET is not set" in result.stderr


def test_missing_public_url_is_a_config_error(project: Project) -> None:
    """Without a public base URL there is no unsubscribe link: nothing is sent."""
    text = project.config.read_text().replace("https://news.example.com", "null")
    project.config.write_text(text)
    project.subscribe(1)
    result = project.run("send", str(DIGEST), "--list", "weekly")
    assert result.exit_code == EXIT_CONFIG
    assert "public_base_url is not set" in result.stderr


@pytest.mark.parametrize(
    ("base", "reason"),
    [
        ("http://news.example.com", "must be an absolute https URL"),
        ("https://nëws.example.com", "non-ASCII"),
        ("https://news.example.com/ñews", "non-ASCII"),
        # Refused by config validation itself now (URLs fit one line of the email).
        ("https://news.example.com/" + "p" * 900, "too long"),
    ],
)
def test_unusable_public_url_is_a_config_error_before_anything_is_recorded(
    project: Project, base: str, reason: str
) -> None:
    """A public base URL no unsubscribe link can be made from (not https, not ASCII, too
    long for a List-Unsubscribe line) stops the send as a configuration error naming the
    key, before the send is recorded: it used to fail every reader one by one."""
    text = project.config.read_text().replace("https://news.example.com", base)
    project.config.write_text(text, encoding="utf-8")
    project.subscribe(3)
    result = project.run("send", str(DIGEST), "--list", "weekly")
    assert result.exit_code == EXIT_CONFIG, result.output
    line = next(x for x in result.stderr.splitlines() if "publication.public_base_url" in x)
    assert "publication.public_base_url: " in line
    assert reason in line
    assert "Traceback" not in result.output
    with project.store() as store:
        assert store.sends.sends() == []
    assert not (project.folder / "outbox").exists()


def test_locked_send_exits_with_its_own_code(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When another run holds the lock the command exits 5 and sends nothing."""
    from newsletter.store import LockHolder

    project.subscribe(3)
    with project.store() as store, store.sends.send_lock("2025-09-12", "weekly"):
        other = LockHolder("newsletter@cron-host:77", "cron-host", 77)
        monkeypatch.setattr("newsletter.store.lock.this_process", lambda tag: other)
        result = project.run("send", str(DIGEST), "--list", "weekly")
    assert result.exit_code == EXIT_LOCKED
    assert "another run is already sending" in result.stderr
    assert not (project.folder / "outbox").exists()


def cancel_a_send_of_the_sample_issue(project: Project) -> None:
    """Record a send of the sample issue to weekly, then cancel it, as an editor would."""
    from tests.delivery_support import sample_issue

    issue = sample_issue()
    with project.store() as store:
        record = store.sends.open_send(
            issue_id=issue.issue_id,
            list_name="weekly",
            content_hash=issue.content_hash,
            message_hash=issue.message_hash,
            transport="sendgrid",
        )
        store.sends.cancel_send(record.id)


def test_dispatch_leaves_a_cancelled_send_alone(project: Project) -> None:
    """A send an editor cancelled is not sent by the next cron dispatch."""
    project.subscribe(4)
    cancel_a_send_of_the_sample_issue(project)
    result = project.run("dispatch", "--date", "2025-09-14")
    assert result.exit_code == EXIT_OK, result.output
    assert "2025-09-12 was cancelled; not sending it" in result.stdout
    assert not (project.folder / "outbox").exists()


def test_status_reads_a_digest_file_for_its_date(project: Project, tmp_path: Path) -> None:
    """status DIGEST loads the digest and uses its date, whatever the file is called and
    wherever it is, like every other command."""
    project.subscribe(2)
    project.run("send", str(DIGEST), "--list", "weekly")
    elsewhere = tmp_path / "drafts" / "kazakhstan-middle-power.json"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(DIGEST.read_bytes())
    result = project.run("status", str(elsewhere))
    assert result.exit_code == EXIT_OK, result.output
    assert "2025-09-12 → weekly (outbox): finished" in result.stdout
    assert "accepted 2" in result.stdout


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("2031-01-05", "no sends recorded for issue 2031-01-05"),
        (str(REPO / "digests" / "2026-02-06.json"), "no sends recorded for issue 2026-02-06"),
        ("next-week", "'next-week' is neither a digest file nor an issue date (YYYY-MM-DD)"),
        ("missing.json", "missing.json"),
    ],
)
def test_status_of_an_unknown_issue_is_an_error(
    project: Project, argument: str, message: str
) -> None:
    """status for an issue never sent, or an argument that names no issue, exits 3 with
    one clear line (not "no sends recorded" and exit 0)."""
    project.subscribe(1)
    project.run("send", str(DIGEST), "--list", "weekly")
    result = project.run("status", argument)
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_dispatch_knows_an_issue_by_its_date_not_its_file_name(
    project: Project, tmp_path: Path
) -> None:
    """dispatch checks "already sent" and "cancelled" under the digest's own date: a due
    file whose name differs from its date is not sent behind an editor's cancel."""
    folder = tmp_path / "digests"
    folder.mkdir()
    (folder / "2025-09-14.json").write_bytes(DIGEST.read_bytes())  # dated 2025-09-12 inside
    text = project.config.read_text().replace(str(REPO / "digests"), str(folder))
    project.config.write_text(text)
    project.subscribe(4)
    cancel_a_send_of_the_sample_issue(project)
    result = project.run("dispatch", "--date", "2025-09-15")
    assert result.exit_code == EXIT_OK, result.output
    assert "weekly: 2025-09-12 was cancelled; not sending it" in result.stdout
    assert not (project.folder / "outbox").exists()


_WRONG_PLURAL = re.compile(
    r"(?<![\d,.])1 (requests|recipients|batches|messages|active members|files|issues|"
    r"addresses|rows|items|previews|fields)\b"
)


def test_counts_of_one_read_in_the_singular(project: Project) -> None:
    """A send to one reader says "1 request", "1 active member", never "1 requests"."""
    project.subscribe(1)
    dry = project.run("send", str(DIGEST), "--list", "weekly", "--dry-run")
    assert "to 1 active member of weekly via outbox" in dry.stdout
    sent = project.run("send", str(DIGEST), "--list", "weekly")
    assert "(1 sent in " in sent.stdout
    assert "1 request this run)" in sent.stdout
    for result in (dry, sent, project.run("status")):
        assert not _WRONG_PLURAL.search(result.output), result.output


def test_plural_helper() -> None:
    """plural() puts the noun in the number its count asks for, with separators."""
    from newsletter.wording import plural

    assert plural(1, "request") == "1 request"
    assert plural(0, "request") == "0 requests"
    assert plural(1_000, "batch", "batches") == "1,000 batches"
    assert plural(1, "batch", "batches") == "1 batch"


def test_dispatch_of_a_finished_issue_still_names_readers_in_doubt(project: Project) -> None:
    """A finished send with readers still ambiguous: a later `dispatch` says it was
    already sent, repeats what needs attention and exits 1, as `send` does, so the cron
    mail keeps saying so until someone acts."""
    import sqlite3

    project.subscribe(5)
    assert project.run("dispatch", "--date", "2025-09-14").exit_code == EXIT_OK
    database = project.database.removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:  # as if one answer had been lost
        db.execute(
            "UPDATE deliveries SET state = 'ambiguous' WHERE id = (SELECT min(id) FROM deliveries)"
        )
    again = project.run("dispatch", "--date", "2025-09-14")
    assert again.exit_code == EXIT_PARTIAL, again.output
    assert "2025-09-12 was already sent; nothing to do" in again.stdout
    assert "attention: 1 ambiguous" in again.stderr
    assert "--ambiguous" in again.stderr
