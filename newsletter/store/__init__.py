"""The store of record: subscribers and lists, sends and the ledger, provider feedback, issues.

Open it with ``Store.from_config(config)`` or ``Store.open(url)``; its
repositories are ``store.subscribers``, ``store.sends``, ``store.feedback``,
``store.issues``, ``store.approvals``, ``store.readers``, ``store.erasures`` and
``store.events`` (see `newsletter.store.store`). SQLite by default, PostgreSQL through
the same code; see docs/subscribers.md, docs/dispatch.md and docs/readers.md.

This is the store's public face: code outside the package imports from here,
never from its modules.
"""

from __future__ import annotations

from newsletter.csvio import Rejection
from newsletter.store.approval_repository import Approval, ApprovalRepository
from newsletter.store.database import Database
from newsletter.store.erasure_repository import ErasureRepository
from newsletter.store.erasures import address_hash
from newsletter.store.event_repository import EventRepository
from newsletter.store.event_types import (
    ATTRIBUTION_WINDOW,
    COUNT_KEYS,
    Anomaly,
    EventTotals,
    LinkClicks,
    TrackedEvent,
)
from newsletter.store.feedback import (
    DeliveryEvent,
    EventsReport,
    ProviderEvent,
    Suppression,
    SuppressReport,
)
from newsletter.store.feedback_repository import FeedbackRepository
from newsletter.store.issue_repository import ArchivedVersion, IssueRepository, PublishedIssue
from newsletter.store.ledger import (
    Batch,
    Claimed,
    ClaimedRows,
    ForcedSend,
    Outcomes,
    SendRecord,
    delivery_ids_of,
)
from newsletter.store.lock import STALE_LOCK_AFTER, LockHolder
from newsletter.store.migrate import HEAD as SCHEMA_HEAD
from newsletter.store.migrate import SchemaState
from newsletter.store.models import (
    SUPPRESSED,
    Confirmation,
    ConfirmState,
    Consent,
    HistoryEntry,
    ImportReport,
    ListCount,
    Membership,
    PendingSignup,
    SignupRecorded,
    Source,
    Status,
    Subscriber,
    SubscriberDetails,
)
from newsletter.store.preferences import AddressChange, was_erased
from newsletter.store.reader_repository import CONFIRMATION_INTERVAL, ReaderRepository
from newsletter.store.send_repository import SendRepository
from newsletter.store.snapshots import (
    IssueSnapshot,
    LatestVersion,
    SendableIssue,
    SentIssue,
    UnkeptIssue,
)
from newsletter.store.store import Store
from newsletter.store.subscriber_repository import SubscriberRepository, check_list_name
from newsletter.store.subscribers import AddOutcome, StatusChange

__all__ = [
    "ATTRIBUTION_WINDOW",
    "CONFIRMATION_INTERVAL",
    "COUNT_KEYS",
    "SCHEMA_HEAD",
    "STALE_LOCK_AFTER",
    "SUPPRESSED",
    "AddOutcome",
    "AddressChange",
    "Anomaly",
    "Approval",
    "ApprovalRepository",
    "ArchivedVersion",
    "Batch",
    "Claimed",
    "ClaimedRows",
    "ConfirmState",
    "Confirmation",
    "Consent",
    "Database",
    "DeliveryEvent",
    "ErasureRepository",
    "EventRepository",
    "EventTotals",
    "EventsReport",
    "FeedbackRepository",
    "ForcedSend",
    "HistoryEntry",
    "ImportReport",
    "IssueRepository",
    "IssueSnapshot",
    "LatestVersion",
    "LinkClicks",
    "ListCount",
    "LockHolder",
    "Membership",
    "Outcomes",
    "PendingSignup",
    "ProviderEvent",
    "PublishedIssue",
    "ReaderRepository",
    "Rejection",
    "SchemaState",
    "SendRecord",
    "SendRepository",
    "SendableIssue",
    "SentIssue",
    "SignupRecorded",
    "Source",
    "Status",
    "StatusChange",
    "Store",
    "Subscriber",
    "SubscriberDetails",
    "SubscriberRepository",
    "SuppressReport",
    "Suppression",
    "TrackedEvent",
    "UnkeptIssue",
    "address_hash",
    "check_list_name",
    "delivery_ids_of",
    "was_erased",
]
