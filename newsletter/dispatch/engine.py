"""Sending one issue to one list, exactly once per recipient, resumably.

The ledger in the store is the source of truth; this module drives it:

1. take the store's lock for this issue and list (a second run exits, code 5);
2. open the send: the first run records it and freezes the audience; a later
   run resumes it (and refuses if the digest changed, unless forced);
3. turn deliveries left `sending` by a dead run into `ambiguous`;
4. claim batches (`pending → sending`, committed first), send them on a few
   threads, record each outcome as the answer comes back;
5. deferred batches (429, 5xx, no connection) go back to `pending` and are
   tried again in a later pass; too many in a row pause the send.

Nothing here prints: progress goes to a callback, the result is a SendReport.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime

from newsletter.config import Config
from newsletter.errors import AuthenticationError, DeliveryHaltedError, MessageError
from newsletter.message import IssueMessage, PersonalMessage, Recipient
from newsletter.message.links import UnsubscribeLinks
from newsletter.secrets import Secret
from newsletter.store.ledger import (
    ACCEPTED,
    AMBIGUOUS,
    FAILED,
    FINISHED,
    PAUSED,
    PENDING,
    Batch,
    Claimed,
    Outcomes,
    SendRecord,
)
from newsletter.store.store import Store
from newsletter.transports import Outcome as Delivered
from newsletter.transports import Result, SendOptions, Transport

_STATE_OF = {
    Delivered.ACCEPTED: ACCEPTED,
    Delivered.FAILED: FAILED,
    Delivered.AMBIGUOUS: AMBIGUOUS,
    Delivered.DEFERRED: PENDING,
}


@dataclass(frozen=True)
class SendSettings:
    """How hard to push: concurrency, rate, and when to give up for now."""

    concurrency: int = 4
    batch_size: int = 1000
    pause_after: int = 5  # consecutive fully-deferred batches before pausing
    passes: int = 3  # rounds over deferred recipients within one run
    pass_wait_seconds: float = 5.0


@dataclass(frozen=True)
class SendRequest:
    issue: IssueMessage
    list_name: str
    transport_name: str
    force: bool = False
    retry_states: tuple[str, ...] = ()
    send_at: datetime | None = None
    batch_id: str | None = None


@dataclass
class Progress:
    """Running totals of this run, for the progress bar and log lines."""

    total: int
    done_before: int
    accepted: int = 0
    failed: int = 0
    ambiguous: int = 0
    deferred: int = 0
    requests: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def sent(self) -> int:
        return self.accepted + self.failed + self.ambiguous

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.sent / elapsed if elapsed > 0 else 0.0


@dataclass(frozen=True)
class SendReport:
    """What a run did and where the send stands."""

    send: SendRecord
    counts: dict[str, int]
    ambiguous_batches: int
    progress: Progress
    already_finished: bool = False
    interrupted_now: int = 0  # batches found `sending` from a dead run, now ambiguous
    note: str | None = None

    @property
    def needs_attention(self) -> bool:
        c = self.counts
        return bool(c.get(FAILED) or c.get(AMBIGUOUS) or c.get(PENDING)) or (
            self.send.state != FINISHED
        )


ProgressCallback = Callable[[Progress], None]


class Dispatcher:
    """Runs sends through one transport, recording every step in the store."""

    def __init__(
        self,
        store: Store,
        transport: Transport,
        config: Config,
        secret: Secret,
        settings: SendSettings = SendSettings(),
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.store = store
        self.transport = transport
        self.config = config
        self.secret = secret
        self.settings = settings
        self.on_progress = on_progress or (lambda progress: None)
        self.links = UnsubscribeLinks(config, secret)

    # ------------------------------------------------------------------ entry

    def send(self, request: SendRequest) -> SendReport:
        issue = request.issue
        with self.store.send_lock(issue.issue_id, request.list_name):
            record = self.store.open_send(
                issue_id=issue.issue_id,
                list_name=request.list_name,
                content_hash=issue.content_hash,
                message_hash=issue.message_hash,
                transport=request.transport_name,
                force=request.force,
                send_at=request.send_at,
                batch_id=request.batch_id,
            )
            interrupted = self.store.mark_interrupted(record.id)
            if request.retry_states:
                self.store.requeue(record.id, request.retry_states)
            counts = self.store.send_counts(record.id)
            progress = Progress(total=sum(counts.values()), done_before=_done(counts))
            if record.state == FINISHED and not counts.get(PENDING):
                return self._report(record.id, progress, already=True, interrupted=interrupted)
            options = SendOptions(
                send_at=int(record.send_at.timestamp()) if record.send_at else None,
                batch_id=record.batch_id,
            )
            note = self._run(issue, record, options, progress)
            return self._report(record.id, progress, interrupted=interrupted, note=note)

    # ------------------------------------------------------------------ the loop

    def _run(
        self, issue: IssueMessage, record: SendRecord, options: SendOptions, progress: Progress
    ) -> str | None:
        """Passes over the pending deliveries until none are left or the send pauses."""
        for round_number in range(self.settings.passes):
            if round_number:
                time.sleep(self.settings.pass_wait_seconds * round_number)
            pause = self._one_pass(issue, record, options, progress)
            if pause:
                self.store.finish_send(record.id, PAUSED, note=pause)
                return pause
            if not self.store.send_counts(record.id).get(PENDING):
                self.store.finish_send(record.id, FINISHED, note=None)
                return None
        note = (
            "some recipients could not be sent to yet (the provider kept refusing "
            "for now); run the same command again to resume"
        )
        self.store.finish_send(record.id, PAUSED, note=note)
        return note

    def _one_pass(
        self, issue: IssueMessage, record: SendRecord, options: SendOptions, progress: Progress
    ) -> str | None:
        cursor = 0
        number = self.store.last_batch_number(record.id)
        in_flight: dict[Future[list[Result]], Batch] = {}
        streak = 0
        stop: str | None = None
        fatal: Exception | None = None  # re-raised once every batch in flight is recorded
        # Never claim more batches than the transport carries at once (the outbox: one),
        # so a crash leaves no more in doubt than were really being sent.
        limit = min(self.settings.concurrency, self.transport.max_in_flight)
        with ThreadPoolExecutor(limit, "send") as pool:
            while True:
                while stop is None and len(in_flight) < limit:
                    number += 1
                    batch = self.store.claim_batch(
                        record.id, cursor, self.settings.batch_size, number
                    )
                    if batch is None:
                        break
                    cursor = batch.last_id
                    if batch.claimed:
                        future = pool.submit(self._deliver, issue, batch, options)
                        in_flight[future] = batch
                if not in_flight:
                    break
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    batch = in_flight.pop(future)
                    try:
                        outcomes = self._outcomes(batch, future.result())
                    except AuthenticationError as err:  # refused before anything was accepted
                        fatal, stop = err, err.message
                        outcomes = _all(batch.claimed, PENDING, "not sent: " + err.message)
                    except DeliveryHaltedError as err:  # the transport cannot go on: pause
                        stop = err.message
                        outcomes = self._outcomes(batch, err.results)
                    except MessageError as err:  # raised before anything left
                        stop = err.message
                        outcomes = _all(batch.claimed, PENDING, err.message)
                    except Exception as err:  # a bug or an unforeseen failure: outcome unknown
                        fatal, stop = err, f"stopped by an unexpected error: {err!r}"
                        outcomes = _all(batch.claimed, AMBIGUOUS, stop)
                    self.store.record_outcomes(record.id, batch.number, outcomes)
                    streak = streak + 1 if _all_deferred(outcomes) else 0
                    _count(progress, outcomes)
                    self.on_progress(progress)
                    if stop is None and streak >= self.settings.pause_after:
                        stop = (
                            f"paused after {streak} batches in a row could not be sent "
                            "(the provider refused them for now); run again to resume"
                        )
        if fatal is not None:
            self.store.finish_send(record.id, PAUSED, note=stop)
            raise fatal
        return stop

    # ------------------------------------------------------------------ one batch

    def _recipient(self, claimed: Claimed) -> Recipient:
        return Recipient(
            email=claimed.email,
            name=claimed.name,
            subscriber_id=claimed.subscriber_id,
            unsubscribe_url=self.links(claimed.subscriber_id),
        )

    def _deliver(self, issue: IssueMessage, batch: Batch, options: SendOptions) -> list[Result]:
        """Runs on a worker thread: personalise and hand the batch to the transport."""
        messages: Sequence[PersonalMessage] = [
            issue.personalise(self._recipient(c)) for c in batch.claimed
        ]
        return self.transport.send(messages, options)

    def _outcomes(self, batch: Batch, results: list[Result]) -> Outcomes:
        """Deliveries grouped by what happened to them (usually one group per batch)."""
        groups: Outcomes = {}
        for claimed, result in zip(batch.claimed, results, strict=True):
            key = (_STATE_OF[result.outcome], result.provider_id, result.error)
            groups.setdefault(key, []).append(claimed.delivery_id)
        return groups

    def _report(
        self,
        send_id: int,
        progress: Progress,
        *,
        already: bool = False,
        interrupted: int = 0,
        note: str | None = None,
    ) -> SendReport:
        record = self.store.get_send(send_id)
        return SendReport(
            send=record,
            counts=self.store.send_counts(send_id),
            ambiguous_batches=self.store.ambiguous_batches(send_id),
            progress=progress,
            already_finished=already,
            interrupted_now=interrupted,
            note=note or record.note,
        )


def _done(counts: dict[str, int]) -> int:
    return sum(v for k, v in counts.items() if k in (ACCEPTED, FAILED, AMBIGUOUS))


def _all(claimed: Sequence[Claimed], state: str, error: str) -> Outcomes:
    return {(state, None, error): [c.delivery_id for c in claimed]}


def _all_deferred(outcomes: Outcomes) -> bool:
    return bool(outcomes) and all(state == PENDING for state, _, _ in outcomes)


def _count(progress: Progress, outcomes: Outcomes) -> None:
    progress.requests += 1
    for (state, _, _), ids in outcomes.items():
        if state == ACCEPTED:
            progress.accepted += len(ids)
        elif state == FAILED:
            progress.failed += len(ids)
        elif state == AMBIGUOUS:
            progress.ambiguous += len(ids)
        else:
            progress.deferred += len(ids)
