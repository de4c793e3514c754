"""Pulling SendGrid's suppression lists into the store.

SendGrid keeps its own lists of addresses it will not mail: bounces, spam
reports, global unsubscribes, invalid addresses, and the unsubscribes of each
unsubscribe (ASM) group. Readers who unsubscribe through SendGrid's own links
land only there, so `newsletter suppressions pull` (and `dispatch`, before it
sends) copies them into the store, where they stop every transport, not just
SendGrid. It only ever suppresses: nobody is resubscribed by a pull. Addresses
and reasons are provider text, stored inert (newsletter.feedback.text).

Lists are read page by page (`limit`/`offset`, at most 500 a page), each page
recorded in its own transaction. `end_time` is fixed at the start of the pull,
so entries SendGrid adds meanwhile cannot shift the pages under us. The group
endpoint is not paged in SendGrid's API description, so it is read in one call.

`pull_suppressions(config, clock=clock)` runs a whole pull with the configured SendGrid settings;
`pull_before_dispatch(config, transport)` is the pull `dispatch` makes first, answered as
a `PullOutcome` (skipped, pulled or failed) for the caller to report: nothing here prints.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final, Protocol

from newsletter.clock import Clock
from newsletter.config import Config
from newsletter.errors import DeliveryError, PermanentDeliveryError
from newsletter.feedback.text import MAX_ADDRESS, provider_text
from newsletter.store import Source, Status, Store, Suppression, SuppressReport
from newsletter.transports.retry import with_retries

PAGE_SIZE = 500  # the API's maximum `limit`
MAX_PAGES = 20_000  # 10 million rows: a safety stop should the API ignore `offset`


class ApiClient(Protocol):
    """What a pull needs: `SendGridTransport.request`, the classified API boundary."""

    def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any, Any]: ...


@dataclass(frozen=True)
class SuppressionList:
    """One of SendGrid's lists, and what an entry on it means for us."""

    name: str
    path: str
    status: Status
    reason: Callable[[dict[str, Any]], str]


def _because(label: str) -> Callable[[dict[str, Any]], str]:
    def reason(row: dict[str, Any]) -> str:
        # A remote server's words: made inert (no control characters) and capped.
        detail = provider_text(row.get("reason") or "")
        return provider_text(f"SendGrid {label}: {detail}") if detail else f"SendGrid {label}"

    return reason


LISTS = (
    SuppressionList("bounces", "suppression/bounces", Status.BOUNCED, _because("bounce list")),
    SuppressionList(
        "spam reports", "suppression/spam_reports", Status.COMPLAINED, _because("spam report")
    ),
    SuppressionList(
        "global unsubscribes",
        "suppression/unsubscribes",
        Status.UNSUBSCRIBED,
        _because("global unsubscribe"),
    ),
    SuppressionList(
        "invalid emails", "suppression/invalid_emails", Status.BOUNCED, _because("invalid email")
    ),
)


@dataclass(frozen=True)
class ListPulled:
    """What one list held and what recording it changed."""

    name: str
    rows: int
    report: SuppressReport


@dataclass(frozen=True)
class PullReport:
    """What a whole pull read and recorded, list by list in the order read."""

    lists: tuple[ListPulled, ...]

    @property
    def suppressed(self) -> int:
        return sum(pulled.report.suppressed for pulled in self.lists)

    @property
    def rows(self) -> int:
        return sum(pulled.rows for pulled in self.lists)


class Puller:
    """Reads SendGrid's suppression lists through `client` and records them in `store`."""

    def __init__(
        self,
        client: ApiClient,
        store: Store,
        *,
        attempts: int = 5,
        retry_base_seconds: float = 1.0,
        page_size: int = PAGE_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.store = store
        self.attempts = attempts
        self.retry_base = retry_base_seconds
        self.page_size = page_size
        self.clock = clock

    def _get(self, path: str, **query: int) -> Any:
        """One GET with transient failures retried; the parsed JSON answer."""
        _, _, body = with_retries(
            lambda: self.client.request("get", path, query_params=query),
            attempts=self.attempts,
            base_seconds=self.retry_base,
        )
        try:
            return json.loads(body or b"[]")
        except ValueError as err:
            raise PermanentDeliveryError(f"SendGrid's answer to GET {path} is not JSON") from err

    def _pages(self, path: str, end_time: int) -> Iterator[list[dict[str, Any]]]:
        for page in range(MAX_PAGES):
            rows = self._get(
                path, limit=self.page_size, offset=page * self.page_size, end_time=end_time
            )
            if not isinstance(rows, list):
                raise PermanentDeliveryError(f"SendGrid's answer to GET {path} is not a list")
            good = [row for row in rows if isinstance(row, dict) and row.get("email")]
            if good:
                yield good
            if len(rows) < self.page_size:
                return

    def pull_list(self, spec: SuppressionList, end_time: int) -> ListPulled:
        total, report = 0, SuppressReport()
        for rows in self._pages(spec.path, end_time):
            total += len(rows)
            entries = [
                Suppression(provider_text(row["email"], MAX_ADDRESS), spec.status, spec.reason(row))
                for row in rows
            ]
            report += self.store.feedback.suppress(entries, source=Source.API)
        return ListPulled(spec.name, total, report)

    def pull_group(self, group_id: int) -> ListPulled:
        emails = self._get(f"asm/groups/{group_id}/suppressions")
        if not isinstance(emails, list):
            raise PermanentDeliveryError("SendGrid's group suppressions answer is not a list")
        reason = f"SendGrid unsubscribe group {group_id}"
        entries = [
            Suppression(provider_text(e, MAX_ADDRESS), Status.UNSUBSCRIBED, reason)
            for e in emails
            if e and not isinstance(e, dict | list)
        ]
        report = self.store.feedback.suppress(entries, source=Source.API)
        return ListPulled(f"unsubscribe group {group_id}", len(entries), report)

    def pull(self, asm_group_id: int | None) -> PullReport:
        """Every list (and the group's unsubscribes, if a group is configured)."""
        end_time = int(self.clock()) + 1  # whole seconds, rounded up: nothing seeded now is cut
        pulled = [self.pull_list(spec, end_time) for spec in LISTS]
        if asm_group_id is not None:
            pulled.append(self.pull_group(asm_group_id))
        return PullReport(tuple(pulled))


def pull_suppressions(config: Config, *, clock: Clock | None = None) -> PullReport:
    """Read SendGrid's lists (and the configured unsubscribe group's) into the store named by
    `config`, with `delivery.sendgrid`'s API host, attempts and retry pacing.

    Needs SENDGRID_API_KEY with read access to Suppressions (ConfigError without a key).
    Raises DeliveryError subclasses when SendGrid refuses or keeps failing (after
    `delivery.sendgrid.max_attempts` tries of each request), StoreError when the store does;
    pages recorded before a failure stay recorded (they only ever suppress)."""
    # sendgrid-python is imported only by this transport, and only when a pull runs.
    from newsletter.transports.sendgrid import SendGridTransport

    settings = config.delivery.sendgrid
    transport = SendGridTransport(settings, retry_base_seconds=config.delivery.retry_base_seconds)
    try:
        with Store.from_config(config, clock=clock) as store:
            puller = Puller(
                transport,
                store,
                attempts=settings.max_attempts,
                retry_base_seconds=config.delivery.retry_base_seconds,
            )
            return puller.pull(settings.asm_group_id)
    finally:
        transport.close()


@dataclass(frozen=True)
class PullSkipped:
    """No pull was made: the dispatch does not go through SendGrid."""

    transport: str  # the transport the dispatch uses


@dataclass(frozen=True)
class Pulled:
    """SendGrid's lists were read into the store before the audience was frozen."""

    report: PullReport


PULL_FAILED_HINT: Final = "give the API key read access to Suppressions to keep the store in step"


@dataclass(frozen=True)
class PullFailed:
    """SendGrid's lists could not be read; the dispatch goes ahead. `error` is the
    DeliveryError that stopped the pull (`error.message` carries SendGrid's words)."""

    error: DeliveryError

    @property
    def warning(self) -> str:
        """The one-line warning for the operator: what failed, and that sending goes on."""
        return f"could not pull SendGrid's suppressions ({self.error.message}); sending anyway"

    @property
    def hint(self) -> str:
        """How to make the next pull work."""
        return PULL_FAILED_HINT


PullOutcome = PullSkipped | Pulled | PullFailed


def pull_before_dispatch(
    config: Config, transport: str | None, *, clock: Clock | None = None
) -> PullOutcome:
    """The pull `dispatch` makes before freezing its audience when it sends through SendGrid
    (`transport`, else `delivery.transport`), so nobody who unsubscribed through SendGrid's
    own links is counted in it.

    A DeliveryError only makes the outcome `PullFailed`: SendGrid itself still refuses to
    mail its suppressed addresses, and a key limited to Mail Send is a sound setup. Other
    errors (ConfigError: no API key; StoreError) are raised as they are."""
    chosen = transport or config.delivery.transport
    if chosen != "sendgrid":
        return PullSkipped(chosen)
    try:
        return Pulled(pull_suppressions(config, clock=clock))
    except DeliveryError as err:
        return PullFailed(err)
