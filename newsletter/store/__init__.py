"""The store of record: subscribers, lists, statuses and (for dispatch) sends.

Open it with ``Store.from_config(config)`` or ``Store.open(url)``; see
docs/subscribers.md. SQLite by default, PostgreSQL through the same code.

Names are loaded on first use (PEP 562): the CSV reader process imports
modules of this package and must not pay for SQLAlchemy and Alembic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from newsletter.addresses import InvalidAddressError, normalise_email, parse_email
    from newsletter.csvio.csvfile import CsvRow, parse_subscriber_csv, read_subscriber_csv
    from newsletter.store.models import (
        SUPPRESSED,
        HistoryEntry,
        ImportReport,
        ListCount,
        Membership,
        Rejection,
        Source,
        Status,
        Subscriber,
        SubscriberDetails,
    )
    from newsletter.store.store import Store, check_list_name
    from newsletter.store.subscribers import AddOutcome, StatusChange

_HOMES = {
    "addresses": ("InvalidAddressError", "normalise_email", "parse_email"),
    "csvfile": ("CsvRow", "parse_subscriber_csv", "read_subscriber_csv"),
    "models": (
        "SUPPRESSED",
        "HistoryEntry",
        "ImportReport",
        "ListCount",
        "Membership",
        "Rejection",
        "Source",
        "Status",
        "Subscriber",
        "SubscriberDetails",
    ),
    "store": ("Store", "check_list_name"),
    "subscribers": ("AddOutcome", "StatusChange"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}
__all__ = [
    "SUPPRESSED",
    "AddOutcome",
    "CsvRow",
    "HistoryEntry",
    "ImportReport",
    "InvalidAddressError",
    "ListCount",
    "Membership",
    "Rejection",
    "Source",
    "Status",
    "StatusChange",
    "Store",
    "Subscriber",
    "SubscriberDetails",
    "check_list_name",
    "normalise_email",
    "parse_email",
    "parse_subscriber_csv",
    "read_subscriber_csv",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
