"""The store's tables, as SQLAlchemy Core metadata.

This is the shape the code expects; the migrations in ``migrations/versions``
are what create it, and a test checks that the two agree. Times are stored in
UTC. JSON is JSONB on PostgreSQL (comparable, mergeable) and JSON text on SQLite.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from newsletter.store.models import DELIVERY_STATES, STATUSES

# Named constraints, so later migrations can alter them by name on both databases.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

# BIGINT on PostgreSQL; on SQLite it must be INTEGER to alias the rowid.
Id: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")
Json: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")
EMAIL_LENGTH = 320  # RFC 3696 errata: 64 + 1 + 255
LIST_NAME_LENGTH = 64


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both databases (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("store times must be timezone-aware")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Id, primary_key=True),
    Column("email", String(EMAIL_LENGTH), nullable=False, unique=True),
    Column("name", Text, nullable=True),
    Column("attributes", Json, nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_changed_at", UtcDateTime, nullable=False),
    Column("status_reason", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # 0007: the consent record of a reader who signed up with double opt-in (NULL for
    # readers who came from an editor's CSV file).
    Column("consent_posted_at", UtcDateTime, nullable=True),
    Column("consent_confirmed_at", UtcDateTime, nullable=True),
    Column("consent_text_hash", String(64), nullable=True),
    Column("consent_ip", String(45), nullable=True),  # only with signup.record_ip
    Column("paused_until", UtcDateTime, nullable=True),  # 0008: no mail before this time
    CheckConstraint(_one_of("status", STATUSES), name="status"),
    # Never reuse the id of a deleted row: tokens and deliveries name subscribers by id.
    sqlite_autoincrement=True,
)

memberships = Table(
    "memberships",
    metadata,
    Column("list_name", String(LIST_NAME_LENGTH), nullable=False),
    Column(
        "subscriber_id",
        Id,
        ForeignKey("subscribers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("added_at", UtcDateTime, nullable=False),
    Column("removed_at", UtcDateTime, nullable=True),  # NULL while a member
    PrimaryKeyConstraint("list_name", "subscriber_id"),
    Index("ix_memberships_subscriber_id", "subscriber_id"),
    # Clustered by (list, subscriber) on SQLite: one B-tree fewer to write, and a
    # list's members are read in the order a send wants them.
    sqlite_with_rowid=False,
)

status_history = Table(
    "status_history",
    metadata,
    Column("id", Id, primary_key=True),
    Column(
        "subscriber_id",
        Id,
        ForeignKey("subscribers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("from_status", String(16), nullable=True),  # NULL when the subscriber was created
    Column("to_status", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Column("source", String(16), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_status_history_subscriber_id", "subscriber_id", "id"),
    Index("ix_status_history_at", "at"),  # 0009: a week's unsubscribes, for the report
)

# For the delivery issues: one row per (issue, list) send, extended by later migrations.
sends = Table(
    "sends",
    metadata,
    Column("id", Id, primary_key=True),
    Column("issue_id", String(32), nullable=False),  # the digest's date, YYYY-MM-DD
    Column("list_name", String(LIST_NAME_LENGTH), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("message_hash", String(64), nullable=True),
    Column("transport", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("batch_id", String(128), nullable=True),
    Column("send_at", UtcDateTime, nullable=True),  # 0002: a scheduled send's time
    Column("note", Text, nullable=True),  # 0002: why the last run paused
    Column("removed", Integer, nullable=False, server_default="0"),  # 0002: left the audience
    Column("force_reason", Text, nullable=True),  # 0006: why a send was forced past the check
    Column("forced_by", String(200), nullable=True),  # 0006: who forced it
    Column("forced_at", UtcDateTime, nullable=True),  # 0006: when (the store's clock)
    Column("paused_readers", Integer, nullable=False, server_default="0"),  # 0008: left out
    UniqueConstraint("issue_id", "list_name", name="uq_sends_issue_id_list_name"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("send_id", Id, ForeignKey("sends.id", ondelete="CASCADE"), nullable=False),
    Column("subscriber_id", Id, ForeignKey("subscribers.id"), nullable=False),
    Column("email", String(EMAIL_LENGTH), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("provider_message_id", String(255), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("batch", Integer, nullable=True),  # 0002: the batch it went out in
    Column("provider_event", String(32), nullable=True),  # 0003: the provider's last event
    Column("provider_event_at", UtcDateTime, nullable=True),  # 0003: when it happened
    Column("provider_detail", Text, nullable=True),  # 0003: its reason (bounce text)
    Column("delivered_at", UtcDateTime, nullable=True),  # 0009: SendGrid's first delivered
    Column("evidence_event_id", String(255), nullable=True),  # 0009: processed/delivered id
    Column("resolved_at", UtcDateTime, nullable=True),  # 0009: ambiguous → accepted by it
    UniqueConstraint("send_id", "subscriber_id", name="uq_deliveries_send_id_subscriber_id"),
    # 0010: never moved by a state change (claims scan it from their cursor; see ledger.py)
    Index("ix_deliveries_send_id", "send_id", "id"),
    # 0009: a send's deliveries settled by SendGrid's evidence, without reading the rest.
    Index(
        "ix_deliveries_resolved",
        "send_id",
        sqlite_where=text("resolved_at IS NOT NULL"),
        postgresql_where=text("resolved_at IS NOT NULL"),
    ),
    CheckConstraint(_one_of("state", DELIVERY_STATES), name="state"),
)

# 0005: members a send left out because another send of the same issue has them: an
# issue reaches each reader once, whatever lists they are on.
send_overlaps = Table(
    "send_overlaps",
    metadata,
    Column("send_id", Id, ForeignKey("sends.id", ondelete="CASCADE"), nullable=False),
    Column("subscriber_id", Id, ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False),
    Column("via_send_id", Id, ForeignKey("sends.id", ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("send_id", "subscriber_id"),
)

# 0002: the lock that lets one run at a time send an issue to a list.
locks = Table(
    "locks",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("acquired_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
)

# 0003: SendGrid event ids already applied; the webhook retries for days, so events repeat.
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("event_id", String(255), primary_key=True),
    Column("event", String(32), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index("ix_webhook_events_received_at", "received_at"),
)

# 0004: each issue as it was sent, so the archive never re-reads or re-renders digest files.
# A row is never rewritten; a send of different content adds the next version.
SENT_ISSUE_ORIGINS = ("send", "recovered", "re-rendered")
sent_issues = Table(
    "sent_issues",
    metadata,
    Column("id", Id, primary_key=True),
    Column("issue_id", String(32), nullable=False),  # the digest's date, YYYY-MM-DD
    Column("version", Integer, nullable=False),  # 1, 2, … in the order they went out
    Column("content_hash", String(64), nullable=False),  # sha256 of digest_json
    Column("message_hash", String(64), nullable=False),  # sha256 of subject, html, text
    Column("subject", Text, nullable=False),
    Column("digest_json", Text, nullable=False),  # canonical JSON text, exactly as hashed
    Column("html", Text, nullable=False),  # before personalisation: placeholder, no reader
    Column("text", Text, nullable=False),
    Column("unsubscribe_placeholder", String(255), nullable=False),
    Column("first_sent_at", UtcDateTime, nullable=False),
    Column("origin", String(16), nullable=False),
    UniqueConstraint("issue_id", "version", name="uq_sent_issues_issue_id_version"),
    CheckConstraint(_one_of("origin", SENT_ISSUE_ORIGINS), name="origin"),
)

# 0006: who approved which version of an issue, for `dispatch`: an approval names the
# digest's content hash and the rendered message's hash; a row is never rewritten, a
# new approval adds a row, and the latest row of an issue is the one that counts.
approvals = Table(
    "approvals",
    metadata,
    Column("id", Id, primary_key=True),
    Column("issue_id", String(32), nullable=False),  # the digest's date, YYYY-MM-DD
    Column("digest_path", Text, nullable=False),  # the file approved, absolute
    Column("content_hash", String(64), nullable=False),  # sha256 of the canonical digest
    Column("message_hash", String(64), nullable=False),  # sha256 of subject, html, text
    Column("approved_by", String(200), nullable=False),
    Column("approved_at", UtcDateTime, nullable=False),
    Index("ix_approvals_issue_id", "issue_id", "id"),
)

# 0007: sign-ups waiting for their double opt-in, kept apart from `subscribers` so no
# send can ever reach an unconfirmed address. `address_hash` (HMAC-SHA256 of the
# normalised address under the signing secret) finds an address's rows and rate-limits
# its confirmation emails; `email` and `name` are cleared when the sign-up is confirmed
# (they then live on the subscriber) and the row is deleted by `purge-pending`.
signups = Table(
    "signups",
    metadata,
    Column("id", Id, primary_key=True),
    Column("address_hash", String(64), nullable=False),
    Column("email", String(EMAIL_LENGTH), nullable=True),
    Column("name", Text, nullable=True),
    Column("lists", Json, nullable=False),  # list names chosen on the form
    Column("consent_text_hash", String(64), nullable=False),
    Column("consent_ip", String(45), nullable=True),
    Column("posted_at", UtcDateTime, nullable=False),
    Column("confirmation_sent_at", UtcDateTime, nullable=True),
    Column("confirmed_at", UtcDateTime, nullable=True),
    Column("subscriber_id", Id, nullable=True),
    Index("ix_signups_address_hash", "address_hash"),
    Index("ix_signups_posted_at", "posted_at"),
    # One pending sign-up per address: concurrent posts of one address meet here.
    Index(
        "uq_signups_pending_address",
        "address_hash",
        unique=True,
        sqlite_where=text("confirmed_at IS NULL"),
        postgresql_where=text("confirmed_at IS NULL"),
    ),
    sqlite_autoincrement=True,
)

# 0008: addresses erased with `subscribers forget`: only a keyed hash of each is kept
# (HMAC-SHA256 of the normalised address under NEWSLETTER_SECRET, hex), as a suppression.
erased_addresses = Table(
    "erased_addresses",
    metadata,
    Column("address_hmac", String(64), primary_key=True),
    Column("erased_at", UtcDateTime, nullable=False),
)

# 0008: a reader's pending change of address, until the new address confirms it.
address_changes = Table(
    "address_changes",
    metadata,
    Column("id", Id, primary_key=True),
    Column(
        "subscriber_id",
        Id,
        ForeignKey("subscribers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("new_email", String(EMAIL_LENGTH), nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_address_changes_subscriber_id", "subscriber_id"),
    sqlite_autoincrement=True,
)


# 0009: SendGrid's events, kept compact for `newsletter report` (newsletter.store.events).
def _scope() -> list[Column[str]]:
    return [
        Column("issue_id", String(32), nullable=False),
        Column("list_name", String(LIST_NAME_LENGTH), nullable=False),
    ]


event_counts = Table(
    "event_counts",
    metadata,
    *_scope(),
    Column("kind", String(32), nullable=False),  # one of event_types.COUNT_KEYS
    Column("count", BigInteger, nullable=False),
    Column("first_at", UtcDateTime, nullable=False),
    Column("last_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("issue_id", "list_name", "kind"),
)

event_drop_reasons = Table(
    "event_drop_reasons",
    metadata,
    *_scope(),
    Column("reason", String(200), nullable=False),
    Column("count", BigInteger, nullable=False),
    PrimaryKeyConstraint("issue_id", "list_name", "reason"),
)

event_links = Table(
    "event_links",
    metadata,
    *_scope(),
    Column("url_key", String(64), nullable=False),  # sha256 of the URL: indexable at any length
    Column("url", Text, nullable=False),
    Column("human", BigInteger, nullable=False),
    Column("scanner", BigInteger, nullable=False),
    Column("first_at", UtcDateTime, nullable=False),
    Column("last_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("issue_id", "list_name", "url_key"),
)

event_anomalies = Table(
    "event_anomalies",
    metadata,
    Column("id", Id, primary_key=True),
    Column("issue_id", String(32), nullable=True),
    Column("list_name", String(LIST_NAME_LENGTH), nullable=True),
    Column("kind", String(32), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_event_anomalies_issue_id", "issue_id", "id"),
)

# Written only when `tracking.per_reader` is on: who opened (url_key "") or clicked what.
reader_engagement = Table(
    "reader_engagement",
    metadata,
    *_scope(),
    Column("subscriber_id", Id, nullable=False),
    Column("what", String(8), nullable=False),  # open | click
    Column("url_key", String(64), nullable=False),
    PrimaryKeyConstraint("issue_id", "list_name", "what", "url_key", "subscriber_id"),
)
