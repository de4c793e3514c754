"""Each Newsletter method: its typed result, its typed errors, and never a printed line."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter import Newsletter
from newsletter.api import (
    DispatchOutcome,
    PreparedIssue,
    ProgressEvent,
    SendOutcome,
    SendUpdate,
)
from newsletter.clock import FixedClock
from newsletter.errors import (
    ConfigError,
    DigestFileError,
    DigestInvalidError,
    InputError,
    StoreError,
    UnknownListError,
    UnsupportedFeatureError,
)
from newsletter.feedback import PullSkipped
from newsletter.store import AddOutcome, Status
from tests.api.project import DIGEST, READERS, SECRET, write_project

ISSUE = "2025-09-12"


@pytest.fixture
def nl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Newsletter:
    """The API on a fresh project whose store has the weekly list synced."""
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    api = Newsletter.from_config(write_project(tmp_path))
    api.sync("weekly")
    return api


@pytest.fixture(autouse=True)
def prints_nothing(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Every test here: the library wrote nothing to stdout or stderr."""
    yield
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")


class Events:
    """A progress callback that keeps what it is given."""

    def __init__(self) -> None:
        self.seen: list[ProgressEvent] = []

    def __call__(self, event: ProgressEvent) -> None:
        self.seen.append(event)

    def kinds(self) -> list[str]:
        return [type(event).__name__ for event in self.seen]


def test_from_config_and_constructor_share_the_config(tmp_path: Path) -> None:
    """from_config loads the file given (a str works too); Newsletter(config) takes a loaded one."""
    loaded = Newsletter.from_config(str(write_project(tmp_path)))
    assert loaded.config.lists["weekly"].weekly
    assert Newsletter(loaded.config).config is loaded.config
    with pytest.raises(ConfigError):
        Newsletter.from_config(tmp_path / "missing.yaml")


def test_validate_returns_the_digest_or_raises_typed_errors(nl: Newsletter, tmp_path: Path) -> None:
    """validate gives the parsed digest; a missing file and an invalid one are the
    digest errors (exit 3), with every problem listed."""
    assert nl.validate(DIGEST).date == dt.date(2025, 9, 12)
    with pytest.raises(DigestFileError):
        nl.validate(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"date": "not a date"}), encoding="utf-8")
    with pytest.raises(DigestInvalidError) as caught:
        nl.validate(broken)
    assert caught.value.exit_code == 3


def test_render_writes_three_files_or_none(nl: Newsletter, tmp_path: Path) -> None:
    """render writes email.html/.txt/.mjml into `out` and reports each with its size;
    write=False renders without writing."""
    result = nl.render(DIGEST, tmp_path / "out")
    assert result.folder == tmp_path / "out"
    assert [f.path.name for f in result.files] == ["email.html", "email.txt", "email.mjml"]
    assert all(f.size == len(f.path.read_bytes()) for f in result.files)
    assert result.issue.html in (tmp_path / "out" / "email.html").read_text(encoding="utf-8")
    dry = nl.render(DIGEST, tmp_path / "not-written", write=False)
    assert dry.files == () and not (tmp_path / "not-written").exists()


def test_send_reports_progress_per_issue_and_list_then_resumes_nothing(nl: Newsletter) -> None:
    """send: the callback gets the prepared issue, then updates naming the issue and list;
    the result is SENT with every reader accepted; a second send finds it finished."""
    events = Events()
    result = nl.send(DIGEST, "weekly", progress=events)
    assert events.kinds()[0] == "PreparedIssue" and "SendUpdate" in events.kinds()
    updates = [e for e in events.seen if isinstance(e, SendUpdate)]
    assert {(u.issue_id, u.list_name) for u in updates} == {(ISSUE, "weekly")}
    assert updates[-1].progress.accepted == len(READERS)
    assert result.outcome is SendOutcome.SENT and not result.needs_attention
    assert result.report is not None and result.report.counts == {"accepted": len(READERS)}
    again = nl.send(DIGEST, "weekly")
    assert again.report is not None and again.report.already_finished


def test_kept_progress_updates_hold_the_totals_of_their_moment(
    nl: Newsletter, tmp_path: Path
) -> None:
    """A caller that keeps the updates (the web streams them from another thread) reads,
    in each, the totals when it was made, not the dispatcher's running counter: three
    batches of 100 give 100, 200, 250 accepted."""
    many = tmp_path / "many.csv"
    many.write_text("email\n" + "".join(f"r{n}@example.com\n" for n in range(250)))
    nl.import_csv(many, "editors")
    kept = Events()
    nl.send(DIGEST, "editors", progress=kept)
    updates = [e.progress for e in kept.seen if isinstance(e, SendUpdate)]
    assert [p.accepted for p in updates] == [100, 200, 250]
    assert len({id(p) for p in updates}) == len(updates)


def test_send_a_prepared_issue_and_the_dry_run(nl: Newsletter) -> None:
    """prepare checks and renders without sending; send takes its result; a dry run
    counts the audience and records nothing."""
    prepared = nl.prepare(DIGEST, "weekly")
    assert isinstance(prepared, PreparedIssue) and prepared.issue_id == ISSUE
    dry = nl.send(prepared, "weekly", dry_run=True)
    assert dry.outcome is SendOutcome.DRY_RUN and dry.dry_run is not None
    assert (dry.dry_run.audience, dry.dry_run.existing_state) == (len(READERS), None)
    assert nl.status() == []
    assert nl.send(prepared, "weekly").outcome is SendOutcome.SENT


def test_send_to_nobody_is_a_warning_not_a_record(nl: Newsletter) -> None:
    """A list with no active member: NOTHING_TO_SEND, needing attention (the CLI exits 1),
    with the warning as data; nothing is recorded."""
    result = nl.send(DIGEST, "editors")  # declared, but never synced
    assert result.outcome is SendOutcome.NOTHING_TO_SEND and result.needs_attention
    assert result.warnings[0].startswith("editors has no active subscribers: 2025-09-12 was not")
    assert nl.status() == []


def test_send_refuses_bad_input_with_typed_errors(nl: Newsletter) -> None:
    """An undeclared list, scheduling on the outbox, a retry or a cancel of what was never
    sent: input errors (exit 3), raised before anything is sent."""
    with pytest.raises(UnknownListError):
        nl.send(DIGEST, "nope")
    with pytest.raises(UnsupportedFeatureError, match="--at needs the sendgrid transport"):
        nl.send(DIGEST, "weekly", at="2030-01-01 10:00 UTC")
    with pytest.raises(InputError, match="was never sent to weekly"):
        nl.retry(DIGEST, "weekly")
    with pytest.raises(InputError, match="has no scheduled send to weekly"):
        nl.cancel(DIGEST, "weekly")
    assert nl.status() == []


def test_dispatch_uses_the_clock_and_says_each_list(tmp_path: Path, nl: Newsletter) -> None:
    """dispatch without `today` takes the date from the injected clock; each weekly list
    gets an entry (also given to the callback as it is done); a second run finds it sent."""
    clocked = Newsletter(nl.config, clock=FixedClock(dt.datetime(2025, 9, 13, 9, tzinfo=dt.UTC)))
    events = Events()
    report = clocked.dispatch(progress=events)
    [entry] = report.entries
    assert (entry.list_name, entry.outcome, entry.issue_id) == (
        "weekly",
        DispatchOutcome.SENT,
        ISSUE,
    )
    assert report.pull == PullSkipped("outbox") and not report.needs_attention
    assert events.seen[-1] == entry
    again = clocked.dispatch()
    assert again.entries[0].outcome is DispatchOutcome.ALREADY_SENT
    early = clocked.dispatch(today=dt.date(2000, 1, 1))
    assert early.entries[0].outcome is DispatchOutcome.NO_DIGEST


def test_status_names_an_issue_by_file_or_date(nl: Newsletter, tmp_path: Path) -> None:
    """status after a send: one SendStatus with its counts; by digest file or date; an
    issue never sent and an argument naming nothing are input errors."""
    nl.send(DIGEST, "weekly")
    [by_file] = nl.status(DIGEST)
    [by_date] = nl.status(ISSUE)
    assert by_file.send.id == by_date.send.id and by_date.counts == {"accepted": len(READERS)}
    assert by_date.attention == () and by_date.failed == ()
    with pytest.raises(InputError, match="no sends recorded for issue 2025-09-05"):
        nl.status("2025-09-05")
    with pytest.raises(InputError, match="neither a digest file nor an issue date"):
        nl.status("last week")


def test_preview_goes_to_the_given_addresses(nl: Newsletter, tmp_path: Path) -> None:
    """preview sends the [PREVIEW] message to `to` (a list, or one address as a str),
    writes .eml files when asked, and reports each answer; nobody to preview to is an
    input error."""
    report = nl.preview(DIGEST, to=["ed@example.com"], eml=tmp_path / "eml")
    assert [r.outcome for r in report.results] == ["accepted"] and report.error() is None
    assert [p.name for p in report.eml_files] == ["2025-09-12-preview-ed@example.com.eml"]
    assert b"[PREVIEW]" in report.eml_files[0].read_bytes()
    one = nl.preview(DIGEST, to="ed@example.com")  # a plain str is one address, not letters
    assert [r.email for r in one.recipients] == ["ed@example.com"]
    with pytest.raises(InputError, match="nobody to preview to"):
        nl.preview(DIGEST)  # the editors list was never synced: nobody on it


def test_subscriber_operations(nl: Newsletter, tmp_path: Path) -> None:
    """add, show, unsubscribe, resubscribe, members, export, counts, token, remove and
    import: typed results; an undeclared list is refused."""
    assert nl.add("new@example.com", "weekly", name="New") is AddOutcome.ADDED
    assert nl.add("new@example.com", "weekly") is AddOutcome.ALREADY_MEMBER
    assert nl.show("new@example.com").subscriber.name == "New"
    change = nl.unsubscribe("new@example.com", reason="asked")
    assert (change.before, change.after) == (Status.SUBSCRIBED, Status.UNSUBSCRIBED)
    assert nl.resubscribe("new@example.com").after is Status.SUBSCRIBED
    assert sorted(s.email for s in nl.members("weekly")) == sorted([*READERS, "new@example.com"])
    out = io.StringIO()
    assert nl.export("weekly", out) == len(READERS) + 1
    assert out.getvalue().startswith("email,name")
    counts = {row.list_name: row.total for row in nl.counts().lists}
    assert counts == {"weekly": len(READERS) + 1, "editors": 0}
    assert len(nl.token("new@example.com")) > 20
    nl.remove("new@example.com", "weekly")
    csv = tmp_path / "more.csv"
    csv.write_text("email\nmore@example.com\n", encoding="utf-8")
    imported = nl.import_csv(csv, "editors")
    assert imported.report.added == 1 and imported.created_store is None
    with pytest.raises(UnknownListError):
        nl.add("x@example.com", "nope")


def test_store_operations_and_created_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing store is a StoreError (exit 7) until sync or init_store makes one; sync
    says so as data and through its callback; status and upgrade report the schema."""
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    api = Newsletter.from_config(write_project(tmp_path))
    with pytest.raises(StoreError):
        api.counts()
    told: list[str] = []
    synced = api.sync(on_created=told.append)
    assert synced.created_store == told[0] and told[0].startswith("sqlite:///")
    assert {d.report.list_name: d.report.added for d in synced.lists} == {"weekly": 3, "editors": 1}
    made = api.init_store()
    assert not made.created and made.schema == api.store_status().current
    upgraded = api.upgrade_store()
    assert upgraded.up_to_date and upgraded.backfill.unrecovered == []


def test_retry_and_archive_after_a_send(nl: Newsletter, tmp_path: Path) -> None:
    """retry of a finished send with nobody failed sends nothing again; the archive of
    the sent issue is written as static files; backfill finds nothing left to recover;
    an archive without any base URL is a configuration error."""
    nl.send(DIGEST, "weekly")
    again = nl.retry(DIGEST, "weekly", ambiguous=True)
    assert again.report is not None and again.report.already_finished
    written = nl.write_archive(tmp_path / "site")
    assert written.issues == 1 and (tmp_path / "site" / "feed.xml").is_file()
    assert nl.backfill() == written.backfill
    assert nl.backfill().recovered == [] and nl.backfill().unrecovered == []
    bare = nl.config.model_copy(
        update={"publication": nl.config.publication.model_copy(update={"public_base_url": None})}
    )
    with pytest.raises(ConfigError, match="no base URL"):
        Newsletter(bare).write_archive(tmp_path / "nowhere")


def test_the_apis_clock_is_the_stores_clock(nl: Newsletter) -> None:
    """A Newsletter given a clock records its send at that clock's time: the ledger's
    started_at and finished_at are the injected now, not the machine's (one source of
    time for the whole run)."""
    at = dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    clocked = Newsletter(nl.config, clock=FixedClock(at))
    result = clocked.send(DIGEST, "weekly")
    assert result.report is not None
    [status] = clocked.status()
    assert (status.send.started_at, status.send.finished_at) == (at, at)


def test_subscriber_operations_record_the_apis_clock(nl: Newsletter) -> None:
    """Unsubscribing, resubscribing and adding through a clocked Newsletter record the
    injected time in the subscriber's status and history, not the machine's: every method
    that opens the store gives it the API's clock."""
    at = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    clocked = Newsletter(nl.config, clock=FixedClock(at))
    email = next(iter(clocked.members("weekly"))).email
    clocked.unsubscribe(email, reason="asked")
    details = clocked.show(email)
    assert details.subscriber.status_changed_at == at
    assert details.history[-1].at == at
    clocked.add("new-reader@example.com", "weekly")
    [membership] = clocked.show("new-reader@example.com").memberships
    assert membership.added_at == at
