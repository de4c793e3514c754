"""Outside code reaches the store only through `newsletter.store`, its public face."""

from __future__ import annotations

import ast
from pathlib import Path

import newsletter.store

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports (the `x.y` of `import x.y` and `from x.y import z`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_code_outside_the_store_imports_its_modules() -> None:
    """No module of the package outside newsletter/store/, and no benchmark, imports a
    store module (`newsletter.store.ledger`, `.feedback`, `.models`…): only the package."""
    offenders = []
    for path in [*(ROOT / "newsletter").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]:
        if (ROOT / "newsletter" / "store") in path.parents:
            continue
        inner = {
            m
            for m in imported_modules(path)
            if m.startswith("newsletter.store.") and m.split(".")[2] not in newsletter.store.__all__
        }
        offenders += [f"{path.relative_to(ROOT)}: {m}" for m in sorted(inner)]
    assert offenders == []


def test_message_and_config_do_not_depend_on_the_store() -> None:
    """Address and name rules are core modules: message/ and config.py need no store."""
    paths = [*(ROOT / "newsletter" / "message").rglob("*.py"), ROOT / "newsletter" / "config.py"]
    users = [
        str(p.relative_to(ROOT))
        for p in paths
        if any(m.startswith("newsletter.store") for m in imported_modules(p))
    ]
    assert users == []


def test_the_public_face_exports_what_it_lists() -> None:
    """Every name in `newsletter.store.__all__` is there, the four repositories among them."""
    missing = [name for name in newsletter.store.__all__ if not hasattr(newsletter.store, name)]
    assert missing == []
    repositories = (
        "SubscriberRepository",
        "SendRepository",
        "FeedbackRepository",
        "IssueRepository",
    )
    for name in ("Store", *repositories):
        assert name in newsletter.store.__all__
