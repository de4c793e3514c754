"""What the pre-send check reports: findings, each blocking or a warning, and the report."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from newsletter.errors import EXIT_CHECK_BLOCKED, EXIT_CHECK_WARNINGS, EXIT_OK


class Severity(StrEnum):
    """BLOCKING stops `approve` and `send`; a WARNING is shown and lets the issue go."""

    BLOCKING = "blocking"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One thing to fix before sending.

    `rule` names the check (docs/check.md explains each), `path` is the JSON path into
    the digest it concerns (`items[2].url`), or "" for the issue as a whole (the
    templates, the configuration, the rendered email); `message` says what is wrong,
    `fix` what to do. Texts may quote the digest: escape them where they are shown."""

    severity: Severity
    rule: str
    path: str
    message: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return {
            "severity": str(self.severity),
            "rule": self.rule,
            "path": self.path,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class CheckReport:
    """The check of one digest: every finding, blocking first, each group in the order
    of the rules (docs/check.md), and `skipped`: one note per check that did not run
    (a tool not installed, or `tools=False`), so a clean report never hides a check
    that was not made."""

    digest_path: Path
    issue_id: str
    findings: tuple[Finding, ...]
    skipped: tuple[str, ...]

    @property
    def blocking(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.BLOCKING)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    @property
    def exit_code(self) -> int:
        """0 clean, 10 warnings only (EXIT_CHECK_WARNINGS), 11 blocking (EXIT_CHECK_BLOCKED)."""
        if self.blocking:
            return EXIT_CHECK_BLOCKED
        return EXIT_CHECK_WARNINGS if self.warnings else EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (what `newsletter check --json` prints)."""
        return {
            "digest": str(self.digest_path),
            "issue": self.issue_id,
            "blocking": len(self.blocking),
            "warnings": len(self.warnings),
            "exit_code": self.exit_code,
            "findings": [finding.as_dict() for finding in self.findings],
            "skipped": list(self.skipped),
        }


def blocking(rule: str, path: str, message: str, fix: str) -> Finding:
    return Finding(Severity.BLOCKING, rule, path, message, fix)


def warning(rule: str, path: str, message: str, fix: str) -> Finding:
    return Finding(Severity.WARNING, rule, path, message, fix)
