"""The CLI stays a shell over newsletter.api: short commands, documented, no sideways imports."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import click

from newsletter.cli import cli
from tests.conftest import REPO

CLI_DIR = REPO / "newsletter" / "cli"
MAX_COMMAND_LINES = 25


def _is_click_command(decorator: ast.expr) -> bool:
    """`@cli.command()`, `@subscribers.command("import")`, `@cli.group(...)`, `@click.command`."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Attribute) and target.attr in {"command", "group"}


def _commands(path: Path) -> Iterator[ast.FunctionDef]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef) and any(map(_is_click_command, node.decorator_list)):
            yield node


def test_every_command_function_is_at_most_25_lines() -> None:
    """Each click command (from `def` to its last line, docstring included) is at most 25
    lines: parse, call the API, present the result. Anything longer is a decision that
    belongs in newsletter.api."""
    found = {
        f"{path.name}:{node.name}": node.end_lineno - node.lineno + 1  # type: ignore[operator]
        for path in sorted(CLI_DIR.glob("*.py"))
        for node in _commands(path)
    }
    assert len(found) >= 30, found  # the walk finds the commands at all
    too_long = {name: lines for name, lines in found.items() if lines > MAX_COMMAND_LINES}
    assert too_long == {}


def test_the_line_count_check_sees_a_long_command(tmp_path: Path) -> None:
    """The check itself: a 26-line command in a file is found and measured as such."""
    body = "\n".join(f"    x{n} = {n}" for n in range(25))
    source = tmp_path / "long.py"
    source.write_text(f"@cli.command()\ndef long() -> None:\n{body}\n", encoding="utf-8")
    [node] = _commands(source)
    assert node.end_lineno - node.lineno + 1 == 26  # type: ignore[operator]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_cli_imports_no_store_internals_nor_sends_sideways() -> None:
    """newsletter/cli/ reaches the store only through its public face (`newsletter.store`),
    never SQLAlchemy or a transport's module; no command module imports another (e.g.
    send_commands used web_commands to pull suppressions: that is the API's business)."""
    for path in sorted(CLI_DIR.glob("*.py")):
        for module in _imports(path):
            assert not module.startswith(("newsletter.store.", "sqlalchemy")), (path, module)
            assert not module.startswith("newsletter.transports."), (path, module)
            assert not module.startswith("newsletter.dispatch.due"), (path, module)
    for path in sorted(CLI_DIR.glob("*_commands.py")):  # no command module leans on another
        assert not {m for m in _imports(path) if m.endswith("_commands")}, path


def _walk(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        yield " ".join(path), command
        if isinstance(command, click.Group):
            yield from _walk(command, path)


def test_every_command_has_help_and_is_in_docs_cli_md() -> None:
    """Every command and subcommand has help text (its docstring's first line, and a help
    string on each option) and appears in docs/cli.md as `newsletter <command>`."""
    docs = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    commands = dict(_walk(cli))
    assert {"send", "dispatch", "subscribers import", "db upgrade", "archive backfill"} <= set(
        commands
    )
    for name, command in commands.items():
        assert (command.help or "").strip(), f"`newsletter {name}` has no help text"
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "help":
                assert param.help, f"`newsletter {name}` option {param.opts} has no help"
        assert f"`newsletter {name}" in docs, f"`newsletter {name}` is not in docs/cli.md"
