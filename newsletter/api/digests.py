"""Digest files: validating and rendering them."""

from __future__ import annotations

from pathlib import Path

from newsletter.api.results import RenderedFile, RenderResult
from newsletter.config import Config
from newsletter.digest import Digest, load_digest
from newsletter.files import write_atomic
from newsletter.render import render_issue


def validate(path: Path) -> Digest:
    """The digest in `path`; DigestFileError or DigestInvalidError (3, every problem with
    its JSON path) when it cannot be read or is not valid."""
    return load_digest(path)


def render(
    config: Config, path: Path, out: Path | None = None, *, write: bool = True
) -> RenderResult:
    """Validate and render `path`; with `write`, write email.html, email.txt and
    email.mjml atomically into `out` (default: <build dir>/<digest file stem>/).
    Raises the digest errors of `validate` (3) and RenderError (6)."""
    issue = render_issue(load_digest(path), config)
    warnings = tuple(f"{path}: {text}" for text in issue.warnings)
    if not write:
        return RenderResult(path=path, issue=issue, folder=None, files=(), warnings=warnings)
    folder = out if out is not None else config.build_dir / path.stem
    files = []
    for name, content in (
        ("email.html", issue.html),
        ("email.txt", issue.text),
        ("email.mjml", issue.mjml),
    ):
        target = folder / name
        write_atomic(target, content)
        files.append(RenderedFile(target, len(content.encode("utf-8"))))
    return RenderResult(
        path=path, issue=issue, folder=folder, files=tuple(files), warnings=warnings
    )
