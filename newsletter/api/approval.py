"""Approval bound to content: `approve`, `approvals`, and the rule `dispatch` follows.

An editor approves one version of an issue: the digest's content hash (its canonical
JSON) and the rendered message's hash (subject, HTML, text) at that moment, recorded
in the store with who and when. The cron `dispatch` sends an issue only while both
hashes of the file as it is now match the issue's latest approval (unless
`approval.required_for_dispatch` is off), so a draft saved into digests/ or an issue
edited after its approval waits for a person. `send` by hand runs the pre-send check
(`gate`) and refuses blocking findings unless forced with a reason.
"""

from __future__ import annotations

import getpass
import os
import unicodedata
from pathlib import Path

from newsletter.api.results import (
    ApprovalRecorded,
    ApprovalState,
    ApprovalStatus,
    PreparedIssue,
)
from newsletter.check import CheckReport, Finding, check_issue
from newsletter.clock import Clock
from newsletter.config import Config
from newsletter.digest import load_digest
from newsletter.errors import CheckBlockedError, InputError, NewsletterError
from newsletter.render import issue_id, render_issue
from newsletter.store import Approval, ForcedSend, Store

MAX_APPROVER = 200  # as a subscriber's name
MAX_REASON = 500  # one sentence or two, shown on one line by `status`
SHORT = 12  # hex digits of a hash shown to people: enough to tell versions apart


def gate(config: Config, path: Path, *, tools: bool = True) -> CheckReport:
    """The pre-send check (newsletter.check) of the digest at `path`; `tools=False`
    leaves out SpamAssassin and axe-core (seconds each). Digest errors (3) and
    RenderError (6) are raised as usual."""
    return check_issue(config, path, tools=tools)


def finding_lines(findings: tuple[Finding, ...]) -> tuple[str, ...]:
    """One line per finding, as `approve` and `send` list them: where, what, the fix."""
    return tuple(
        (f"{f.path}: " if f.path else "") + f"{f.message} (fix: {f.fix})" for f in findings
    )


def refuse_blocked(path: Path, blocking: tuple[str, ...], *, doing: str, hint: str) -> None:
    """CheckBlockedError (11) when the check found blocking problems."""
    if blocking:
        count = len(blocking)
        problems = "a blocking problem" if count == 1 else f"{count} blocking problems"
        raise CheckBlockedError(
            f"{path}: the pre-send check found {problems}; {doing}", blocking, hint=hint
        )


def _one_line(value: str, what: str, limit: int, hint: str) -> str:
    text = value.strip()
    if not text:
        raise InputError(f"{what} is empty", hint=hint)
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in text):
        raise InputError(f"{what} contains a control character or line break", hint=hint)
    if len(text) > limit:
        raise InputError(f"{what} is {len(text):,} characters long; at most {limit}", hint=hint)
    return text


def approver(by: str | None) -> str:
    """Who acts: `by`, else $USER, else the OS login name (getpass.getuser()).
    InputError (3) if it is empty, not one line, over 200 characters, or cannot be told."""
    hint = "name yourself with --by NAME"
    if by is None:
        try:
            by = os.environ.get("USER") or getpass.getuser()
        except (OSError, KeyError) as err:  # no $USER, $LOGNAME nor passwd entry
            raise InputError("cannot tell who you are (no $USER or login name)", hint=hint) from err
    return _one_line(by, "the approver's name", MAX_APPROVER, hint)


def forced_send(force: bool, reason: str | None, by: str | None) -> ForcedSend | None:
    """What a `send --force --reason` records; None without a reason. InputError (3)
    for a reason without --force, or one that is empty, multi-line or too long."""
    if reason is None:
        return None
    if not force:
        raise InputError(
            "--reason goes with --force: it records why a send went past the pre-send check"
        )
    hint = 'say in one line why it must go out anyway: --force --reason "…"'
    return ForcedSend(reason=_one_line(reason, "the reason", MAX_REASON, hint), by=approver(by))


def approve(config: Config, clock: Clock, path: Path, by: str | None) -> ApprovalRecorded:
    """Run the pre-send check on `path` and, when nothing blocks, record who approved
    this exact version (content and message hashes), dated by the store's clock.
    CheckBlockedError (11) on blocking findings; digest errors (3), RenderError (6),
    StoreError (7, also when there is no store); InputError (3) for a bad `by`."""
    name = approver(by)
    report = gate(config, path)
    refuse_blocked(
        path,
        finding_lines(report.blocking),
        doing="not approved",
        hint=f"fix them (`newsletter check {path}` shows each with its fix), then approve again",
    )
    warnings = finding_lines(report.warnings) + report.skipped
    digest = load_digest(path)
    rendered = render_issue(digest, config)
    issue, content, message = issue_id(digest), digest.content_hash(), rendered.message_hash()
    with Store.from_config(config, clock=clock) as store:
        latest = store.approvals.latest(issue)
        if latest and latest.approved_by == name and latest.matches(content, message):
            return ApprovalRecorded(path=path, approval=latest, already=True, warnings=warnings)
        recorded = store.approvals.record(
            issue_id=issue,
            digest_path=str(path.resolve()),
            content_hash=content,
            message_hash=message,
            approved_by=name,
        )
    return ApprovalRecorded(path=path, approval=recorded, warnings=warnings)


def _hashes_now(config: Config, path: Path) -> tuple[str, str]:
    digest = load_digest(path)
    return digest.content_hash(), render_issue(digest, config).message_hash()


def approvals(config: Config, clock: Clock, path: Path | None) -> tuple[ApprovalStatus, ...]:
    """Every approval recorded (or those of the issue `path` holds), each compared with
    the digest file now: `path` when given, else the file that was approved. Newest
    issue first, oldest approval first. Digest errors (3) for an unreadable `path`."""
    wanted = issue_id(load_digest(path)) if path is not None else None
    with Store.from_config(config, clock=clock) as store:
        found = store.approvals.history(wanted)
    latest = {a.issue_id: a.id for a in found}  # history is oldest first: the last wins
    now: dict[Path, tuple[str, str] | NewsletterError] = {}
    statuses = []
    for approval in found:
        file = path if path is not None else Path(approval.digest_path)
        if file not in now:
            try:
                now[file] = _hashes_now(config, file)
            except NewsletterError as err:
                now[file] = err
        hashes = now[file]
        if isinstance(hashes, NewsletterError):
            state, detail = ApprovalState.UNREADABLE, hashes.message
        else:
            state = ApprovalState.CURRENT if approval.matches(*hashes) else ApprovalState.STALE
            detail = None
        statuses.append(
            ApprovalStatus(approval, latest[approval.issue_id] == approval.id, state, file, detail)
        )
    return tuple(statuses)


def not_approved(store: Store, issue: PreparedIssue) -> tuple[Approval | None, tuple[str, ...]]:
    """Why `dispatch` must not send this prepared issue, or () when its latest approval
    covers it exactly: (the latest approval or None, the lines that say why and what to
    run). The lines name the file and who approved which version, for the cron mail."""
    message = issue.message
    latest = store.approvals.latest(issue.issue_id)
    if latest is not None and latest.matches(message.content_hash, message.message_hash):
        return latest, ()
    path = issue.path
    todo = f"check it (`newsletter check {path}`), then `newsletter approve {path}`"
    if latest is None:
        return None, (f"{path} ({issue.issue_id}) is not approved: nobody approved it", todo)
    changed = [
        f"{what} {then[:SHORT]} → now {now[:SHORT]}"
        for what, then, now in (
            ("content", latest.content_hash, message.content_hash),
            ("message", latest.message_hash, message.message_hash),
        )
        if then != now
    ]
    return latest, (
        f"{path} ({issue.issue_id}) changed since {latest.approved_by} approved it at "
        f"{latest.approved_at:%Y-%m-%d %H:%M} UTC ({'; '.join(changed)})",
        f"review the changes, {todo}",
    )
