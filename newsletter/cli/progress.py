"""Showing a send's progress: a rich progress bar on a terminal, log lines otherwise."""

from __future__ import annotations

import sys
import time
from types import TracebackType

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from newsletter.dispatch.engine import Progress as SendProgress

LOG_EVERY_SECONDS = 10.0


class Reporter:
    """Receives progress callbacks from the dispatcher (on its main thread)."""

    def __init__(self, label: str, *, interactive: bool | None = None) -> None:
        self.label = label
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._last_log = 0.0

    def __enter__(self) -> Reporter:
        if self.interactive:
            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("failed {task.fields[failed]}"),
                TextColumn("{task.fields[rate]:,.0f}/s"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, progress: SendProgress) -> None:
        done = progress.done_before + progress.sent
        if self._bar is not None:
            if self._task is None:
                self._task = self._bar.add_task(
                    self.label, total=progress.total, failed=0, rate=0.0
                )
            self._bar.update(
                self._task,
                completed=done,
                failed=progress.failed + progress.ambiguous,
                rate=progress.rate,
            )
            return
        now = time.monotonic()
        if now - self._last_log >= LOG_EVERY_SECONDS or done >= progress.total:
            self._last_log = now
            click.echo(
                f"{self.label}: {done:,}/{progress.total:,} sent, "
                f"{progress.failed:,} failed, {progress.ambiguous:,} ambiguous, "
                f"{progress.deferred:,} deferred, {progress.rate:,.0f}/s",
                err=True,
            )
