"""The CSV reader child process stays light: no SQLAlchemy, no Alembic, no store."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("sqlalchemy", "alembic", "newsletter.store")


@pytest.mark.parametrize("module", ["newsletter.csvio._reader", "newsletter.csvio"])
def test_reader_imports_nothing_heavy(module: str) -> None:
    """Importing the reader process's module (what `python -m` runs) or the csvio package
    in a fresh interpreter loads neither SQLAlchemy, Alembic nor the store package:
    the reader starts for every big import and must not pay for them."""
    probe = (
        f"import importlib, sys; importlib.import_module({module!r}); "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {{'sqlalchemy', 'alembic'}} "
        f"or m.startswith('newsletter.store')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", f"{module} pulled in: {result.stdout.strip()}"
    assert all(name not in result.stdout for name in HEAVY)
