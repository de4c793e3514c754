"""The feedback package's shape: a library that prints nothing, keeps the risky libraries
where they belong, and is reached from outside only through its public face."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import newsletter.feedback
from tests.conftest import REPO

PACKAGE = REPO / "newsletter"
FEEDBACK = PACKAGE / "feedback"
# Libraries the feedback code must not reach itself: the CLI's, the web's, SendGrid's
# client (only newsletter/transports/sendgrid.py imports it) and the database's.
FOREIGN = ("click", "rich", "starlette", "uvicorn", "sendgrid", "python_http_client", "sqlalchemy")
CRYPTOGRAPHY_HOME = FEEDBACK / "signature.py"
TYPE_ALIASES = {"Buffer", "PublicKey", "PullOutcome"}  # names of types: no docstring of their own


def imported(path: Path) -> Iterator[str]:
    """Every module name `path` imports (absolute, as written), lazily or not."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_feedback_code_imports_no_cli_web_client_or_database_library() -> None:
    """No module of newsletter/feedback imports click, rich, starlette, uvicorn,
    sendgrid-python or SQLAlchemy: the pull reaches SendGrid through the transport and
    the store through its methods."""
    found = {
        f"{path.name}: {name}"
        for path in FEEDBACK.glob("*.py")
        for name in imported(path)
        if name.split(".")[0] in FOREIGN
    }
    assert found == set()


def test_feedback_code_never_prints() -> None:
    """Only the CLI prints: no module of newsletter/feedback calls print() or writes to
    sys.stdout/sys.stderr; results go back to the caller (PullOutcome, EventBatch)."""
    calls = [
        f"{path.name}:{node.lineno}"
        for path in FEEDBACK.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if (isinstance(node, ast.Name) and node.id == "print")
        or (isinstance(node, ast.Attribute) and node.attr in {"stdout", "stderr"})
    ]
    assert calls == []


def test_outside_code_uses_the_public_face_only() -> None:
    """Modules outside newsletter/feedback import `newsletter.feedback` itself, never one of
    its modules, so the package can be rearranged behind its documented names."""
    reaching_in = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in PACKAGE.rglob("*.py")
        if FEEDBACK not in path.parents
        for name in imported(path)
        if name.startswith("newsletter.feedback.")
    }
    assert reaching_in == set()


def test_every_public_name_is_documented_and_exported() -> None:
    """Each name in `newsletter.feedback.__all__` exists, and the public ones that are
    functions or classes carry a docstring (shapes, units and errors live there)."""
    for name in newsletter.feedback.__all__:
        value = getattr(newsletter.feedback, name)
        if callable(value) and not name.isupper() and name not in TYPE_ALIASES:
            assert value.__doc__, f"newsletter.feedback.{name} has no docstring"


def test_cryptography_is_imported_by_the_signature_module_only() -> None:
    """The ECDSA library is reached only by newsletter/feedback/signature.py; the web names
    the key's type through `newsletter.feedback.PublicKey`."""
    importers = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        for name in imported(path)
        if name.split(".")[0] == "cryptography"
    }
    assert importers == {str(CRYPTOGRAPHY_HOME.relative_to(PACKAGE))}
