"""Recovering the issues sent before the store kept them (stores older than schema 0004).

Since 0004 every send keeps its issue as sent (`Store.keep_sent_issue`), and the
archive reads nothing else. A send recorded earlier has only its hashes in the
ledger, so its issue is recovered from a digest file, and only from one whose
content still hashes to what the send recorded (`sends.content_hash`): a digest
edited after sending is never taken for what was sent.

The matching digest is rendered with today's templates. If that gives the very
message the ledger recorded (`sends.message_hash`), the version is "recovered",
exact; otherwise it is "re-rendered": the words are as sent, the layout is
today's. Issues with no matching file are reported and stay out of the archive
until someone gives the file (`newsletter archive backfill FILE_OR_FOLDER…`).

`newsletter db upgrade`, `serve` and `archive` run this and print its report;
Alembic cannot (it does not know the config, the digests or the templates).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from newsletter.config import Config
from newsletter.digest import Digest, load_digest
from newsletter.errors import NewsletterError
from newsletter.render import render_issue
from newsletter.store import IssueSnapshot, Store, UnkeptIssue

NO_MATCH = "no digest file matches what was sent (missing, or edited since)"


@dataclass(frozen=True)
class Recovered:
    """An issue kept from a matching digest file."""

    issue_id: str
    path: Path
    exact: bool  # today's rendering is the very message the ledger recorded


@dataclass(frozen=True)
class Unrecovered:
    """An issue with sends that is still not kept, and why."""

    issue_id: str
    reason: str


@dataclass(frozen=True)
class BackfillReport:
    """What one backfill run kept and what it could not."""

    recovered: list[Recovered] = field(default_factory=list)
    unrecovered: list[Unrecovered] = field(default_factory=list)


def digest_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The .json files among `paths` (a folder gives its own .json files, sorted)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.glob("*.json") if p.is_file())
        elif path.is_file():
            yield path


class _Candidates:
    """Digest files by content hash, each read at most once; unreadable ones skipped."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self._paths = list(dict.fromkeys(p.resolve() for p in digest_files(paths)))
        self._by_hash: dict[str, tuple[Path, Digest]] | None = None

    def find(self, content_hashes: Iterable[str]) -> tuple[Path, Digest] | None:
        if self._by_hash is None:
            self._by_hash = {}
            for path in self._paths:
                try:
                    digest = load_digest(path)
                except NewsletterError:
                    continue  # not a digest (or broken): it matches nothing
                self._by_hash.setdefault(digest.content_hash(), (path, digest))
        return next((self._by_hash[h] for h in content_hashes if h in self._by_hash), None)


def backfill(store: Store, config: Config, extra: Iterable[Path] = ()) -> BackfillReport:
    """Keep every issue the ledger sent but the store has no version of, from the digest
    files in `config.digests_dir` and in `extra` (files or folders) whose content hash
    matches a send's. Nothing to do (the usual case) costs one query."""
    pending = store.issues.unkept_issues()
    if not pending:
        return BackfillReport()
    candidates = _Candidates([config.digests_dir, *extra])
    report = BackfillReport()
    for issue in pending:
        found = candidates.find(issue.content_hashes)
        if found is None:
            report.unrecovered.append(Unrecovered(issue.issue_id, NO_MATCH))
            continue
        try:
            report.recovered.append(_keep(store, config, issue, *found))
        except NewsletterError as err:  # templates that no longer render, a store error
            report.unrecovered.append(Unrecovered(issue.issue_id, err.message))
    return report


def _keep(
    store: Store, config: Config, issue: UnkeptIssue, path: Path, digest: Digest
) -> Recovered:
    rendered = render_issue(digest, config)
    snapshot = IssueSnapshot(
        issue_id=issue.issue_id,
        subject=rendered.subject,
        digest_json=digest.canonical_json(),
        html=rendered.html,
        text=rendered.text,
        unsubscribe_placeholder=rendered.placeholders["unsubscribe_url"],
        content_hash=digest.content_hash(),
        message_hash=rendered.message_hash(),
    )
    exact = snapshot.message_hash in issue.message_hashes
    store.issues.keep_recovered_issue(
        snapshot,
        origin="recovered" if exact else "re-rendered",
        first_sent_at=issue.first_started_at,
    )
    return Recovered(issue.issue_id, path, exact)
