"""The outbox: writes exactly what would be sent, one .eml file per message, in a Maildir.

The embedded default: no account needed. One Maildir per issue and list
(`outbox/2025-09-12-weekly/`, with the standard `tmp/`, `new/`, `cur/`
folders) that mail clients open as it is (`mutt -f outbox/2025-09-12-weekly`),
and whose files each open on their own as .eml.

Why a Maildir and not an mbox file:

- byte-exact: each file holds the message exactly as `mime_bytes` built it
  (an mbox rewrites body lines starting with "From " to ">From ");
- crash-safe without a lock: each message is written to `tmp/` and renamed into
  `new/` (one atomic step), so a kill leaves no half message and no lock file.
  A kill's leftover in `tmp/` (never part of the mailbox) is removed by the
  next run; no cleaning up by hand;
- an I/O error (a full disk) loses nothing: the messages renamed before it are
  ACCEPTED, the one being written is removed, the rest are DEFERRED, and
  DeliveryHaltedError pauses the send naming the real cause.

Exactly once, by evidence: a reader's file name carries their subscriber id
(`…Q7S1234.host.eml`), so a reader who already has a message in the Maildir is
reported ACCEPTED again without a second file. A kill leaves a batch
*ambiguous* in the ledger, but the outbox knows which of its readers were
written: `retry --ambiguous` writes only those who were not.

Files are not fsync'ed: a killed process loses nothing it reported as
written; a power cut may lose what the operating system had not yet written.
"""

from __future__ import annotations

import errno
import itertools
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from newsletter.errors import DeliveryHaltedError
from newsletter.message import PersonalMessage
from newsletter.message.mime import mime_bytes
from newsletter.transports.base import (
    Outcome,
    Result,
    SendOptions,
    all_results,
    check_options,
    unbuildable,
)

# The system call that writes bytes to a file descriptor (os.write's shape): the
# seam through which tests put a full disk under the outbox.
Writer = Callable[[int, bytes], int]
Builder = Callable[[PersonalMessage], bytes]
_REASONS = {
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
}


# "time.PpidQn[Ssubscriber].host.eml": the subscriber id, when the message has one.
_SUBSCRIBER_IN_NAME = re.compile(r"^[0-9]+\.P[0-9]+Q[0-9]+S([0-9]+)\.")


def maildir_path(folder: Path, issue_id: str, list_name: str) -> Path:
    """The Maildir of one issue and list: `folder/2025-09-12-weekly`."""
    return folder / f"{issue_id}-{list_name}"


def read_outbox(maildir: Path) -> list[bytes]:
    """Every message of an outbox Maildir, byte for byte, in the order written
    (file names start with the time in nanoseconds). [] when there is none."""
    files = [
        path
        for sub in ("new", "cur")
        if (maildir / sub).is_dir()
        for path in (maildir / sub).iterdir()
        if path.is_file()
    ]
    return [path.read_bytes() for path in sorted(files, key=lambda path: path.name)]


def _host() -> str:
    # Maildir names may not hold "/" or ":" (the info separator); its spec escapes them.
    return socket.gethostname().replace("/", r"\057").replace(":", r"\072") or "localhost"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _halt_note(maildir: Path, err: OSError) -> str:
    reason = _REASONS.get(err.errno or 0, "I/O error")
    return (
        f"the outbox could not write to {maildir}: {reason} ({err.strerror or err}); "
        "fix that, then run the same command again to resume"
    )


class OutboxTransport:
    """Writes each message as its own file in the issue's Maildir, one batch at a time."""

    name = "outbox"
    # Small batches: a kill leaves at most one batch in doubt, and writing 100 messages
    # takes seconds, so the ledger's round trips cost nothing in comparison.
    max_batch = 100
    max_in_flight = 1  # one writer: the dispatcher claims one batch at a time
    # A file cannot wait to be delivered later: send_at and batch_id are refused.
    supports = frozenset({"preview"})

    def __init__(
        self, folder: Path, *, write: Writer = os.write, build: Builder = mime_bytes
    ) -> None:
        self.folder = folder
        self._write = write
        self._build = build
        self._lock = threading.Lock()  # callers other than the dispatcher may use threads
        self._numbers = itertools.count(1)
        self._host = _host()
        self._written: dict[Path, dict[int, str]] = {}  # Maildir → subscriber id → file

    def send(self, messages: Sequence[PersonalMessage], options: SendOptions) -> list[Result]:
        """One Result per message. Raises DeliveryHaltedError (with every result) when
        the outbox cannot be written: a full disk, an unwritable folder;
        UnsupportedFeatureError for send_at or batch_id (check_options)."""
        check_options(self, options)
        if not messages:
            return []
        issue = messages[0].issue
        list_name = "preview" if options.preview else issue.list_name
        maildir = maildir_path(self.folder, issue.issue_id, list_name)
        with self._lock:
            return self._write_batch(maildir, messages, once=not options.preview)

    def _write_batch(
        self, maildir: Path, messages: Sequence[PersonalMessage], *, once: bool
    ) -> list[Result]:
        """Write the batch; with `once` (every send but a preview, which an editor may
        ask for again and again) a reader who already has a file is not written twice."""
        try:
            self._prepare(maildir)
        except OSError as err:  # nothing written: everyone deferred
            note = _halt_note(maildir, err)
            deferred = all_results(messages, Outcome.DEFERRED, error=note)
            raise DeliveryHaltedError(note, deferred) from err
        written = self._already_written(maildir) if once else {}
        results: list[Result] = []
        for index, message in enumerate(messages):
            subscriber = message.recipient.subscriber_id
            if subscriber is not None and subscriber in written:  # a resend: the file is there
                results.append(Result(message.recipient, Outcome.ACCEPTED, written[subscriber]))
                continue
            try:
                raw = self._build(message)
            except Exception as err:  # this reader only: the others go on
                results.append(Result(message.recipient, Outcome.FAILED, error=unbuildable(err)))
                continue
            try:
                name = self._deliver(maildir, raw, subscriber)
            except OSError as err:
                note = _halt_note(maildir, err)
                rest = all_results(messages[index:], Outcome.DEFERRED, error=note)
                raise DeliveryHaltedError(note, [*results, *rest]) from err
            if subscriber is not None:
                written[subscriber] = name
            results.append(Result(message.recipient, Outcome.ACCEPTED, message.message_id))
        return results

    def _already_written(self, maildir: Path) -> dict[int, str]:
        """Who already has a message in `maildir` (read once per Maildir, then kept up
        to date as this transport writes): subscriber id → file name."""
        known = self._written.get(maildir)
        if known is None:
            known = {}
            for sub in ("new", "cur"):
                for entry in os.scandir(maildir / sub):
                    found = _SUBSCRIBER_IN_NAME.match(entry.name)
                    if found is not None:
                        known[int(found.group(1))] = entry.name
            self._written[maildir] = known
        return known

    def _prepare(self, maildir: Path) -> None:
        for sub in ("tmp", "new", "cur"):
            (maildir / sub).mkdir(parents=True, exist_ok=True)
        self._remove_leftovers(maildir / "tmp")

    def _remove_leftovers(self, tmp: Path) -> None:
        """Half-written files of a run that was killed on this host (its pid is gone)."""
        suffix = f".{self._host}.eml"
        for path in tmp.iterdir():
            pid = path.name.partition(".P")[2].partition("Q")[0]
            if path.name.endswith(suffix) and pid.isdigit() and not _pid_alive(int(pid)):
                path.unlink(missing_ok=True)

    def _unique_name(self, subscriber: int | None) -> str:
        # Maildir's "time.unique.host"; the zero-padded time keeps names in write order,
        # the subscriber id lets a later run see who already has a message.
        reader = f"S{subscriber}" if subscriber is not None else ""
        unique = f"P{os.getpid()}Q{next(self._numbers)}{reader}"
        return f"{time.time_ns():020d}.{unique}.{self._host}.eml"

    def _deliver(self, maildir: Path, raw: bytes, subscriber: int | None) -> str:
        """Write to tmp/, then rename into new/: the message appears whole or not at all.
        Returns the file's name."""
        name = self._unique_name(subscriber)
        temporary = maildir / "tmp" / name
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            try:
                view = memoryview(raw)
                while view:
                    view = view[self._write(descriptor, view.tobytes()) :]
            finally:
                os.close(descriptor)
            temporary.rename(maildir / "new" / name)
        except BaseException:
            temporary.unlink(missing_ok=True)  # the one being written: as if never begun
            raise
        return name

    def close(self) -> None:
        return None
