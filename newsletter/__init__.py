"""The Astana Times' weekly foreign-media digest: digest → render → message → transport.

`from newsletter import Newsletter` is the public Python API (docs/api.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from newsletter.api import (
        ApprovalRecorded,
        ApprovalState,
        ApprovalStatus,
        ArchiveWritten,
        CancelResult,
        Counts,
        DispatchEntry,
        DispatchOutcome,
        DispatchReport,
        DryRun,
        FailedDelivery,
        ImportResult,
        NewDigest,
        Newsletter,
        PreparedIssue,
        PreviewReport,
        ProgressCallback,
        ProgressEvent,
        RenderedFile,
        RenderResult,
        SendOutcome,
        SendResult,
        SendStatus,
        SendUpdate,
        StoreInit,
        StoreState,
        StoreUpgrade,
        SyncedList,
        SyncResult,
        TextImport,
        validate_digest,
    )

__version__ = "0.1.0"

# Loaded on first use (PEP 562), not here: the CSV reader child process imports a module
# of this package, and importing `newsletter` must not make it pay for SQLAlchemy, the
# renderer and the transports that newsletter.api pulls in.
__all__ = [
    "ApprovalRecorded",
    "ApprovalState",
    "ApprovalStatus",
    "ArchiveWritten",
    "CancelResult",
    "Counts",
    "DispatchEntry",
    "DispatchOutcome",
    "DispatchReport",
    "DryRun",
    "FailedDelivery",
    "ImportResult",
    "NewDigest",
    "Newsletter",
    "PreparedIssue",
    "PreviewReport",
    "ProgressCallback",
    "ProgressEvent",
    "RenderResult",
    "RenderedFile",
    "SendOutcome",
    "SendResult",
    "SendStatus",
    "SendUpdate",
    "StoreInit",
    "StoreState",
    "StoreUpgrade",
    "SyncResult",
    "SyncedList",
    "TextImport",
    "validate_digest",
]
_API_NAMES = frozenset(__all__)


def __getattr__(name: str) -> Any:
    if name in _API_NAMES:
        return getattr(importlib.import_module("newsletter.api"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
