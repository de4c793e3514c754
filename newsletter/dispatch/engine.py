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

from newsletter.dispatch.ports import BulkRecipientOf, IssueArchive, Ledger, RecipientOf
from newsletter.errors import (
    AuthenticationError,
    BaseNewsletterError,
    ConfigError,
    DeliveryError,
    DeliveryHaltedError,
    InternalError,
    MessageError,
    describe_error,
)
from newsletter.message import IssueMessage, PersonalBatch, PersonalMessage
from newsletter.states import DeliveryState, SendState
from newsletter.store import (
    Batch,
    Claimed,
    ClaimedRows,
    ForcedSend,
    Outcomes,
    SendRecord,
    delivery_ids_of,
)
from newsletter.transports import Outcome as Delivered
from newsletter.transports import Preparer, Result, SendOptions, Transport
from newsletter.transports.base import SameResults, check_options, outcome_of
from newsletter.wording import plural

_STATE_OF = {
    Delivered.ACCEPTED: DeliveryState.ACCEPTED,
    Delivered.FAILED: DeliveryState.FAILED,
    Delivered.AMBIGUOUS: DeliveryState.AMBIGUOUS,
    Delivered.DEFERRED: DeliveryState.PENDING,
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
    forced: ForcedSend | None = None  # pushed past the pre-send check: recorded on the send


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
    # Members left out because another list's send of the issue has them: {"weekly": 12}.
    already_sent_via: dict[str, int] = field(default_factory=dict)

    @property
    def needs_attention(self) -> bool:
        c = self.counts
        return bool(
            c.get(DeliveryState.FAILED)
            or c.get(DeliveryState.AMBIGUOUS)
            or c.get(DeliveryState.PENDING)
        ) or (self.send.state != SendState.FINISHED)


ProgressCallback = Callable[[Progress], None]


class Dispatcher:
    """Runs sends through one transport, recording every step in the store."""

    def __init__(
        self,
        ledger: Ledger,
        archive: IssueArchive,
        transport: Transport,
        recipient_of: RecipientOf,
        settings: SendSettings = SendSettings(),
        on_progress: ProgressCallback | None = None,
    ) -> None:
        """`ledger` records every step (the store's `sends`), `archive` keeps each issue
        as it goes out (the store's `issues`); `recipient_of` builds each
        reader's recipient with its signed unsubscribe link (see
        newsletter.api.sending.recipient_builder): the dispatcher knows no config or secret."""
        self.ledger = ledger
        self.archive = archive
        self.transport = transport
        self.settings = settings
        self.on_progress = on_progress or (lambda progress: None)
        self.recipient_of = recipient_of

    # ------------------------------------------------------------------ entry

    def send(self, request: SendRequest) -> SendReport:
        issue = request.issue
        with self.ledger.send_lock(issue.issue_id, request.list_name):
            record = self.ledger.open_send(
                issue_id=issue.issue_id,
                list_name=request.list_name,
                content_hash=issue.content_hash,
                message_hash=issue.message_hash,
                transport=request.transport_name,
                force=request.force,
                send_at=request.send_at,
                batch_id=request.batch_id,
                forced=request.forced,
            )
            interrupted = self.ledger.mark_interrupted(record.id)
            if request.retry_states:
                self.ledger.requeue(record.id, request.retry_states)
            counts = self.ledger.send_counts(record.id)
            progress = Progress(total=sum(counts.values()), done_before=_done(counts))
            if record.state == SendState.FINISHED and not counts.get(DeliveryState.PENDING):
                return self._report(record.id, progress, already=True, interrupted=interrupted)
            options = SendOptions(
                send_at=int(record.send_at.timestamp()) if record.send_at else None,
                batch_id=record.batch_id,
            )
            # An option the transport cannot honour stops the send before anyone is claimed
            # (a send scheduled through SendGrid resumed with another transport).
            check_options(self.transport, options)
            # The archive shows what was sent: keep this issue as it goes out (once per version).
            self.archive.keep_sent_issue(issue)
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
                self.ledger.finish_send(record.id, SendState.PAUSED, note=pause)
                return pause
            if not self.ledger.send_counts(record.id).get(DeliveryState.PENDING):
                self.ledger.finish_send(record.id, SendState.FINISHED, note=None)
                return None
        note = (
            "some recipients could not be sent to yet (the provider kept refusing "
            "for now); run the same command again to resume"
        )
        self.ledger.finish_send(record.id, SendState.PAUSED, note=note)
        return note

    def _one_pass(
        self, issue: IssueMessage, record: SendRecord, options: SendOptions, progress: Progress
    ) -> str | None:
        cursor = 0
        number = self.ledger.last_batch_number(record.id)
        in_flight: dict[Future[Handled], Batch] = {}
        streak = 0
        unbuilt = 0  # batches in a row of which no message could be built
        stop: str | None = None
        fatal: BaseNewsletterError | None = None  # raised once every batch in flight is recorded
        # Never claim more batches than the transport carries at once (the outbox: one),
        # so a crash leaves no more in doubt than were really being sent.
        limit = min(self.settings.concurrency, self.transport.max_in_flight)
        with ThreadPoolExecutor(limit, "send") as pool:
            while True:
                while stop is None and len(in_flight) < limit:
                    number += 1
                    batch = self.ledger.claim_batch(
                        record.id, cursor, self.settings.batch_size, number
                    )
                    if batch is None:
                        break
                    cursor = batch.last_id
                    if batch.claimed:
                        # Built here, posted on a sending thread (see `_built`).
                        future = pool.submit(self._built(issue, batch, options))
                        in_flight[future] = batch
                if not in_flight:
                    break
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    batch = in_flight.pop(future)
                    handled = _handled(batch, future, self.transport.name)
                    self.ledger.record_outcomes(record.id, batch.number, handled.outcomes)
                    streak = streak + 1 if _all_deferred(handled.outcomes) else 0
                    unbuilt = unbuilt + 1 if handled.none_built else 0
                    _count(progress, handled)
                    self.on_progress(progress)
                    if handled.fatal is not None and fatal is None:
                        fatal, stop = handled.fatal, handled.fatal.message
                    if stop is None:
                        stop = self._pause_reason(streak, unbuilt, handled)
        if fatal is not None:
            self.ledger.finish_send(record.id, SendState.PAUSED, note=stop)
            raise fatal
        return stop

    def _pause_reason(self, streak: int, unbuilt: int, handled: Handled) -> str | None:
        """Why the send should pause now, if it should: the provider kept refusing, or
        no message could be built batch after batch (a fault that is not the readers')."""
        if handled.halted is not None:  # the transport's own words (e.g. disk full), not ours
            return handled.halted
        limit = self.settings.pause_after
        if streak >= limit:
            return (
                f"paused after {plural(streak, 'batch', 'batches')} in a row could not be "
                "sent (the provider refused them for now); run again to resume"
            )
        if unbuilt >= limit:
            return (
                f"paused after {plural(unbuilt, 'batch', 'batches')} in a row in which no "
                f"message could be built ({handled.build_error}); fix the cause, then "
                "`newsletter retry` sends to the failed recipients"
            )
        return None

    # ------------------------------------------------------------------ one batch

    def _deliver(self, issue: IssueMessage, batch: Batch, options: SendOptions) -> Handled:
        """Build each reader's message and hand the batch over, on the calling thread
        (the dispatcher itself uses `_built`, which splits the two). Never raises."""
        return self._built(issue, batch, options)()

    def _built(
        self, issue: IssueMessage, batch: Batch, options: SendOptions
    ) -> Callable[[], Handled]:
        """Build the batch now, on the dispatcher's thread; the callable hands it over
        (on a sending thread) and returns what became of each reader. Never raises.

        Everything CPU-bound (each reader's link and message, and the request body when
        the transport is a Preparer) is done here, so the sending threads mostly wait
        on the network: with the GIL, builders on four threads would only queue for it,
        and the ledger's SQLite statements between them would wait for it each time.
        A prepare that fails leaves `post` unset: the sending thread's `send` meets the
        same fault and handles it exactly as before (split, fail, or stop)."""
        handled, ready = self._build(issue, batch)
        post: Callable[[], Sequence[Result]] | None = None
        if ready and handled.fatal is None and isinstance(self.transport, Preparer):
            try:
                post = self.transport.prepare(ready.messages, options)
            except Exception:
                post = None

        def hand_over() -> Handled:
            self._hand_over(ready, options, handled, post)
            return handled

        return hand_over

    def _build(self, issue: IssueMessage, batch: Batch) -> tuple[Handled, _Ready]:
        """Each reader's message. A message that cannot be built fails for its reader
        alone; everyone else's outcome is what the transport says about them. A
        ConfigError is no reader's fault and would fail every one alike: nothing of the
        batch is handed over, all stay pending and the send stops with it (exit 4)."""
        handled = Handled()
        if isinstance(self.recipient_of, BulkRecipientOf):
            messages = _built_at_once(issue, self.recipient_of, batch.claimed)
            if messages is not None:
                return handled, _Ready(batch.claimed, messages)
        readers: list[Claimed] = []
        built: list[PersonalMessage] = []
        for claimed in batch.claimed:
            try:
                built.append(issue.personalise(self.recipient_of(claimed)))
                readers.append(claimed)
            except ConfigError as err:
                stopped = Handled(fatal=err)
                stopped.add(DeliveryState.PENDING, None, "not sent: " + err.message, batch.claimed)
                return stopped, _Ready([], [])
            except Exception as err:  # whatever stops one message stops only that reader's
                reason = f"message could not be built: {describe_error(err)}"
                handled.add(DeliveryState.FAILED, None, reason, [claimed])
                handled.build_error = reason
        handled.none_built = not readers
        return handled, _Ready(readers, built)

    def _hand_over(
        self,
        ready: _Ready,
        options: SendOptions,
        handled: Handled,
        post: Callable[[], Sequence[Result]] | None = None,
    ) -> None:
        """Send `ready` and record each reader's outcome in `handled`.

        What a transport raises instead of answering per reader is read by what its
        class promises (see newsletter.transports.base): MessageError and
        TransientDeliveryError are raised before anything is handed over, so a
        MessageError batch is split in halves until the reader it concerns is alone
        (then failed) and a transient one goes back to pending; anything else may
        have happened after some messages left, so that batch is ambiguous and the
        send stops. `post`, when given, is `ready` already prepared (base.Preparer)."""
        if not ready:
            return
        claimed = ready.claimed
        if handled.fatal is not None:  # an earlier half stopped the send: keep these for later
            handled.add(DeliveryState.PENDING, None, "not sent: " + handled.fatal.message, claimed)
            return
        handled.requests += 1
        try:
            results = post() if post is not None else self.transport.send(ready.messages, options)
            _check_answer(len(ready), results)
        # Refused before anything was accepted (credentials), or a configuration that is
        # wrong for every reader alike: nobody is failed, the send stops with it.
        except (AuthenticationError, ConfigError) as err:
            handled.fatal = err
            handled.add(DeliveryState.PENDING, None, "not sent: " + err.message, claimed)
        except MessageError as err:
            if len(ready) == 1:
                handled.add(
                    DeliveryState.FAILED,
                    None,
                    f"message could not be built: {err.message}",
                    claimed,
                )
                return
            first, second = ready.halves()
            self._hand_over(first, options, handled)
            self._hand_over(second, options, handled)
        except DeliveryHaltedError as err:  # the transport cannot go on (outbox: disk full)
            for reader, result in zip(claimed, err.results, strict=True):
                handled.add(_STATE_OF[result.outcome], result.provider_id, result.error, [reader])
            handled.halted = err.message
        except DeliveryError as err:  # one answer for the whole request, not turned per reader
            handled.add(_STATE_OF[outcome_of(err)], None, err.message, claimed)
        except Exception as err:  # a bug or an unforeseen failure: what left is unknown
            reason = (
                f"the {self.transport.name} transport failed unexpectedly: {describe_error(err)}; "
                "these messages may or may not have been sent"
            )
            handled.fatal = _unexpected(self.transport.name, err, len(ready))
            handled.add(DeliveryState.AMBIGUOUS, None, reason, claimed)
        else:
            # Grouped here, not one `add` per reader: a thousand readers per batch.
            outcomes = handled.outcomes
            if isinstance(results, SameResults):  # one answer for all: one group
                key = (_STATE_OF[results.outcome], results.provider_id, results.error)
                outcomes.setdefault(key, []).extend(delivery_ids_of(claimed))
                return
            for delivery_id, result in zip(delivery_ids_of(claimed), results, strict=True):
                key = (_STATE_OF[result.outcome], result.provider_id, result.error)
                ids = outcomes.get(key)
                if ids is None:
                    ids = outcomes[key] = []
                ids.append(delivery_id)

    def _report(
        self,
        send_id: int,
        progress: Progress,
        *,
        already: bool = False,
        interrupted: int = 0,
        note: str | None = None,
    ) -> SendReport:
        record = self.ledger.get_send(send_id)
        counts = self.ledger.send_counts(send_id)
        return SendReport(
            send=record,
            counts=counts,
            ambiguous_batches=self.ledger.ambiguous_batches(send_id, counts),
            progress=progress,
            already_finished=already,
            interrupted_now=interrupted,
            note=note or record.note,
            already_sent_via=self.ledger.send_overlaps(send_id),
        )


def _built_at_once(
    issue: IssueMessage, recipient_of: BulkRecipientOf, claimed: Sequence[Claimed]
) -> PersonalBatch | None:
    """Every claimed reader's message, built as one batch of columns (a million-reader
    send's usual path); None if any of them cannot be built, so that the caller builds
    them one by one and fails only the reader concerned, with their own reason."""
    try:
        rows = claimed if isinstance(claimed, ClaimedRows) else ClaimedRows.of(claimed)
        unsubscribe, preferences = recipient_of.urls(rows.subscriber_ids)
        return issue.personalise_batch(
            rows.emails, rows.names, rows.subscriber_ids, unsubscribe, preferences
        )
    except Exception:  # whose it is and why is found out reader by reader
        return None


@dataclass(frozen=True)
class _Ready:
    """Claimed readers and their messages, in the same order: a batch, or part of one
    (the messages may be a PersonalBatch, whose message objects are made on demand)."""

    claimed: Sequence[Claimed]
    messages: Sequence[PersonalMessage]

    def __len__(self) -> int:
        return len(self.claimed)

    def halves(self) -> tuple[_Ready, _Ready]:
        half = len(self.claimed) // 2
        return (
            _Ready(self.claimed[:half], self.messages[:half]),
            _Ready(self.claimed[half:], self.messages[half:]),
        )


def _done(counts: dict[str, int]) -> int:
    return sum(
        v
        for k, v in counts.items()
        if k in (DeliveryState.ACCEPTED, DeliveryState.FAILED, DeliveryState.AMBIGUOUS)
    )


def _all_deferred(outcomes: Outcomes) -> bool:
    return bool(outcomes) and all(state == DeliveryState.PENDING for state, _, _ in outcomes)


def _count(progress: Progress, handled: Handled) -> None:
    progress.requests += handled.requests
    for (state, _, _), ids in handled.outcomes.items():
        if state == DeliveryState.ACCEPTED:
            progress.accepted += len(ids)
        elif state == DeliveryState.FAILED:
            progress.failed += len(ids)
        elif state == DeliveryState.AMBIGUOUS:
            progress.ambiguous += len(ids)
        else:
            progress.deferred += len(ids)


@dataclass
class Handled:
    """One claimed batch's outcomes, reader by reader, built on a worker thread."""

    outcomes: Outcomes = field(default_factory=dict)
    requests: int = 0
    none_built: bool = False  # not one message of the batch could be built
    build_error: str | None = None  # the last reason a message could not be built
    fatal: BaseNewsletterError | None = None  # stops the send once the batch is recorded
    halted: str | None = None  # the transport cannot go on for now: the send pauses, why

    def add(
        self, state: str, provider_id: str | None, error: str | None, readers: Sequence[Claimed]
    ) -> None:
        self.outcomes.setdefault((state, provider_id, error), []).extend(delivery_ids_of(readers))


def _handled(batch: Batch, future: Future[Handled], transport: str) -> Handled:
    """The worker's answer; `_deliver` never raises, but if it ever did, the batch's
    fate is unknown: ambiguous, and the send stops."""
    try:
        return future.result()
    except Exception as err:
        handled = Handled(requests=1, fatal=_unexpected(transport, err, len(batch.claimed)))
        handled.add(
            DeliveryState.AMBIGUOUS,
            None,
            f"stopped by an unexpected error: {describe_error(err)}",
            batch.claimed,
        )
        return handled


def _check_answer(sent: int, results: Sequence[Result]) -> None:
    """A transport must answer once per message, in order; anything else is a bug."""
    if len(results) != sent:
        raise RuntimeError(
            f"the transport answered {plural(len(results), 'result')} for {plural(sent, 'message')}"
        )


def _unexpected(transport: str, err: Exception, readers: int) -> InternalError:
    error = InternalError(
        f"sending stopped: the {transport} transport failed unexpectedly "
        f"({describe_error(err)}); {plural(readers, 'recipient')} of that request marked "
        "ambiguous, everyone not yet sent to stays pending",
        hint="`newsletter status` shows where the send stands; please report this error",
    )
    error.__cause__ = err
    return error
