"""newsletter.files: output written whole, and never through a link or onto a device."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from newsletter.errors import InputError
from newsletter.files import write_atomic


def test_write_atomic_writes_a_new_file_and_replaces_a_regular_one(tmp_path: Path) -> None:
    """A missing file is created (its folder too) and a regular file is replaced whole."""
    target = tmp_path / "out" / "report.html"
    write_atomic(target, "one")
    write_atomic(target, "two")
    assert target.read_text(encoding="utf-8") == "two"


def test_write_atomic_refuses_a_symbolic_link(tmp_path: Path) -> None:
    """A link is refused, not replaced by a file: its target is left as it was, and so
    is the link (the rename would silently cut it)."""
    target = tmp_path / "target.html"
    target.write_text("kept", encoding="utf-8")
    link = tmp_path / "link.html"
    link.symlink_to(target)
    with pytest.raises(InputError, match="not a regular file"):
        write_atomic(link, "new")
    assert link.is_symlink() and target.read_text(encoding="utf-8") == "kept"


def test_write_atomic_refuses_a_device_or_a_pipe(tmp_path: Path) -> None:
    """A named pipe (as a device such as /dev/full would be) is refused and left in place."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(InputError, match="not a regular file"):
        write_atomic(pipe, "new")
    assert pipe.exists() and not pipe.is_file()
