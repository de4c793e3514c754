"""The outbox: writes exactly what would be sent, complete MIME, to mbox files.

The embedded default: no account needed. One standard mbox file per issue and
list (`outbox/2025-09-12-weekly.mbox`) that any mail client opens.
"""

from __future__ import annotations

import mailbox
import threading
from collections.abc import Sequence
from pathlib import Path

from newsletter.errors import DeliveryError
from newsletter.message import PersonalMessage
from newsletter.message.mime import mime_bytes
from newsletter.transports.base import Outcome, Result, SendOptions, all_results


def mbox_path(folder: Path, issue_id: str, list_name: str) -> Path:
    return folder / f"{issue_id}-{list_name}.mbox"


class OutboxTransport:
    """Appends each message to its issue's mbox, locked and flushed per batch."""

    name = "outbox"
    max_batch = 1000
    max_in_flight = 1  # one batch at a time: see the dispatcher's claim limit

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()  # one writer at a time: batches arrive from several threads

    def send(self, messages: Sequence[PersonalMessage], options: SendOptions) -> list[Result]:
        if options.send_at is not None:
            raise DeliveryError("the outbox transport cannot schedule a send (--at)")
        if not messages:
            return []
        issue = messages[0].issue
        list_name = "preview" if options.preview else issue.list_name
        path = mbox_path(self.folder, issue.issue_id, list_name)
        with self._lock:
            return self._append(path, messages)

    def _append(self, path: Path, messages: Sequence[PersonalMessage]) -> list[Result]:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            box = mailbox.mbox(path, create=True)
        except (OSError, mailbox.Error) as err:  # nothing written: safe to try again
            return all_results(messages, Outcome.DEFERRED, error=f"{path}: {err}")
        try:
            box.lock()
        except (OSError, mailbox.Error) as err:  # another program holds the file
            box.close()
            return all_results(messages, Outcome.DEFERRED, error=f"{path}: {err}")
        try:
            for message in messages:
                box.add(mime_bytes(message))
            box.flush()
        except (OSError, mailbox.Error) as err:  # part of the batch may be in the file
            return all_results(messages, Outcome.AMBIGUOUS, error=f"{path}: {err}")
        finally:
            box.unlock()
            box.close()
        return [Result(m.recipient, Outcome.ACCEPTED, provider_id=m.message_id) for m in messages]

    def close(self) -> None:
        return None
