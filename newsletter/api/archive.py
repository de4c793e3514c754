"""The web archive as static files, and the recovery of issues sent before the store
kept them (newsletter.archive_backfill)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from newsletter.api.results import ArchiveWritten
from newsletter.archive_backfill import BackfillReport
from newsletter.archive_backfill import backfill as recover
from newsletter.clock import Clock
from newsletter.config import Config
from newsletter.errors import ConfigError
from newsletter.pages import Archive
from newsletter.store import Store


def backfill(
    config: Config, paths: Iterable[Path] = (), *, clock: Clock | None = None
) -> BackfillReport:
    """Recover issues sent before the store kept them, from digest files that still match
    what was sent: the digests folder, and any file or folder in `paths`."""
    with Store.from_config(config, clock=clock) as store:
        return recover(store, config, tuple(paths))


def archive_base(config: Config, base_url: str | None) -> str:
    """The archive's absolute base URL (its feed needs absolute links): `base_url`, else
    publication.public_base_url, without a trailing slash; ConfigError (4) if neither."""
    base = (base_url or config.publication.public_base_url or "").rstrip("/")
    if not base:
        raise ConfigError(
            "the archive's feed needs absolute links: no base URL",
            hint="give --base-url https://…, or set publication.public_base_url in config.yaml",
        )
    return base


def write_archive(
    config: Config, out: Path, base_url: str | None = None, *, clock: Clock | None = None
) -> ArchiveWritten:
    """Write archive/, feed.xml and unsubscribe/ under `out` (recovering old issues first)."""
    base = archive_base(config, base_url)
    with Store.from_config(config, clock=clock) as store:
        report = recover(store, config, ())
        written = Archive(config, store).write_static(out, base)
    issues = sum(1 for path in written if path.parent.parent == out / "archive")
    return ArchiveWritten(out=out, files=tuple(written), issues=issues, backfill=report)
