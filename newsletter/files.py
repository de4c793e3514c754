"""Small file helpers: output is written whole or not at all."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from newsletter.errors import InputError


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write `content` to `path` via a temporary file and a rename, so a crash
    or a full disk never leaves a half-written file behind."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    _refuse_special(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as err:
        raise InputError(f"{path}: cannot write ({err.strerror or err})") from err


def _refuse_special(path: Path) -> None:
    """InputError when `path` is a symbolic link or exists as anything but a regular
    file: the rename would replace a device (/dev/full), a pipe or a link with a file,
    never writing where the name points."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    except OSError as err:
        raise InputError(f"{path}: cannot write ({err.strerror or err})") from err
    if stat.S_ISLNK(mode) or not stat.S_ISREG(mode):
        raise InputError(
            f"{path}: not a regular file (a link, device, pipe or folder); "
            "give the path of a file to write"
        )


def write_new(path: Path, content: str | bytes) -> None:
    """Write `content` to a new file `path`, whole or not at all, never replacing a file
    that exists: the content goes to a temporary file, which is then hard-linked to
    `path` (the link fails if `path` exists, even if it appeared a moment ago).
    FileExistsError when it does; InputError when it cannot be written."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.link(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except FileExistsError:
        raise
    except OSError as err:
        raise InputError(f"{path}: cannot write ({err.strerror or err})") from err
