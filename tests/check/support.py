"""Fixtures of the check's tests: a clean digest to spoil one way at a time."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from newsletter.check import CheckReport, check_issue
from newsletter.check.gate import run_rules
from newsletter.check.issue import CheckedIssue
from newsletter.config import Config, load_config
from newsletter.digest import load_digest
from newsletter.render import RenderedIssue, render_issue
from tests.conftest import REPO

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CLEAN = FIXTURES / "clean.json"


def project_config(**sections: dict[str, Any]) -> Config:
    """The project's config.yaml with some sections replaced (keys merged)."""
    config = load_config(REPO / "config.yaml")
    data = config.model_dump(mode="json")
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    return Config.model_validate({**data, "base_dir": config.base_dir})


def clean_data() -> dict[str, Any]:
    """The clean fixture as a dict, safe to change."""
    data: dict[str, Any] = json.loads(CLEAN.read_text(encoding="utf-8"))
    return data


def check_data(data: dict[str, Any], folder: Path, config: Config | None = None) -> CheckReport:
    """Write `data` as a digest file and check it without the tools."""
    path = folder / "digest.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return check_issue(config or project_config(), path, tools=False)


def found(report: CheckReport | tuple[Any, ...]) -> set[tuple[str, str, str]]:
    """(severity, rule, path) of every finding."""
    findings = report.findings if isinstance(report, CheckReport) else report
    return {(str(f.severity), f.rule, f.path) for f in findings}


def rendered_clean(config: Config | None = None) -> RenderedIssue:
    return render_issue(load_digest(CLEAN), config or project_config())


def rules_on(rendered: RenderedIssue, config: Config | None = None, **changes: str) -> set[Any]:
    """The rules' findings on the clean issue with its HTML or text replaced."""
    issue = CheckedIssue(config or project_config(), replace(rendered, **changes))  # type: ignore[arg-type]
    return found(run_rules(issue))
