"""The package's shape, checked from its own imports (docs/architecture.md).

Every `import` and `from … import` in newsletter/ is read with `ast` (including the ones
inside functions, which run later but are dependencies all the same; imports under
`if TYPE_CHECKING:` are annotations only and left out). The rules:

- each risky third-party library is imported in exactly one place;
- click lives only in the CLI; the CLI reaches the store, the transports and the web only
  through their public faces;
- code outside a package with a public face (store, feedback, api, pages) imports only
  that face;
- layers point down: no module imports a layer above its own, and the packages form no cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "newsletter"


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module, dotted (for `from x import y`: x, and x.y if a module)
    line: int


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for other in child.orelse:
                yield other
                yield from _walk(other)
            continue
        yield child
        yield from _walk(child)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports() -> list[Import]:
    found = []
    modules = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue  # Alembic's own scripts: they belong to the store and import only it
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _walk(tree):
            if isinstance(node, ast.Import):
                found.extend(Import(module, alias.name, node.lineno) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(module, path.name == "__init__.py", node)
                found.append(Import(module, target, node.lineno))
                for alias in node.names:
                    if f"{target}.{alias.name}" in modules:
                        found.append(Import(module, f"{target}.{alias.name}", node.lineno))
    return found


IMPORTS = _imports()


def _within(module: str, place: str) -> bool:
    return module == place or module.startswith(place + ".")


def _violations(rule: Callable[[Import], bool]) -> list[str]:
    return [f"{i.module}:{i.line} imports {i.target}" for i in IMPORTS if rule(i)]


# The one place each risky library may be imported from.
HOMES = {
    "mjml": ("newsletter.render.compile",),
    "premailer": ("newsletter.render.inline",),
    "sendgrid": ("newsletter.transports.sendgrid",),
    "python_http_client": ("newsletter.transports.sendgrid",),
    "starlette": ("newsletter.web",),
    "uvicorn": ("newsletter.web.server",),
    "sqlalchemy": ("newsletter.store",),
    "alembic": ("newsletter.store",),
    "click": ("newsletter.cli",),
    "rich": ("newsletter.cli",),
    "lxml": ("newsletter.importer.markup",),
    "playwright": ("newsletter.browser",),
    "matplotlib": ("newsletter.report.charts",),
}


@pytest.mark.parametrize("library", sorted(HOMES))
def test_each_risky_library_is_imported_in_its_one_place(library: str) -> None:
    """mjml, premailer, sendgrid, starlette, sqlalchemy, click …: each only where it belongs,
    so a change of library (or of its traps) touches one module or one package."""
    homes = HOMES[library]
    assert not _violations(
        lambda i: _within(i.target, library) and not any(_within(i.module, h) for h in homes)
    )


def test_the_cli_uses_only_public_faces() -> None:
    """The CLI reaches the store, transports and web only through their public faces: no
    store internals, no SQLAlchemy, no transport implementation module."""
    internals = (
        "newsletter.store.",
        "newsletter.feedback.",
        "newsletter.api.",
        "newsletter.pages.",
    )
    implementations = tuple(
        f"newsletter.transports.{name}" for name in ("outbox", "smtp", "sendgrid", "memory")
    )
    assert not _violations(
        lambda i: (
            _within(i.module, "newsletter.cli")
            and (i.target.startswith(internals) or i.target.startswith(implementations))
        )
    )


@pytest.mark.parametrize(
    "face",
    [
        "newsletter.store",
        "newsletter.feedback",
        "newsletter.api",
        "newsletter.pages",
        "newsletter.report",
    ],
)
def test_outside_code_imports_only_a_package_public_face(face: str) -> None:
    """Code outside the store (or feedback, or api) imports its `__init__` only: what the
    package keeps inside can move without touching its callers."""
    assert not _violations(
        lambda i: i.target.startswith(face + ".") and not _within(i.module, face)
    )


# The layers, lowest first: a module may import its own package and any layer below its
# own, nothing at its level or above (docs/architecture.md draws them). The core's
# single modules may import one another (errors, mostly); `test_no_module_cycle`
# keeps them, like everything else, free of circles.
LAYERS: tuple[frozenset[str], ...] = tuple(
    frozenset(names.split())
    for names in (
        "errors clock states wording files jsontext secrets tokens redaction validation"
        " addresses names",
        "config",
        "digest csvio",
        "render importer",
        "message",
        "transports store browser notices",
        "dispatch feedback pages archive_backfill check readers",
        "report",
        "api",
        "web",
        "cli",
        "__main__",
    )
)


def _part(module: str) -> str:
    """The top-level module or package of `newsletter.x.y` (`x`)."""
    return module.split(".")[1] if module.count(".") else module


def _layer(module: str) -> int:
    part = _part(module)
    for number, layer in enumerate(LAYERS):
        if part in layer:
            return number
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and docs/architecture.md")


def test_every_module_has_a_layer() -> None:
    """A new module or package is placed in a layer on purpose, not by default."""
    for module in {i.module for i in IMPORTS} - {"newsletter"}:
        _layer(module)


def test_layers_point_down() -> None:
    """No module imports a layer above it or a different part of its own layer: the
    arrows run one way, so there is no circle between the packages."""

    def upward(i: Import) -> bool:
        if not i.target.startswith("newsletter.") or i.module == "newsletter":
            return False
        if _part(i.module) == _part(i.target):
            return False
        if _layer(i.module) == _layer(i.target) == 0:
            return False  # the core's modules (see LAYERS)
        return _layer(i.target) >= _layer(i.module)

    assert not _violations(upward)


def test_the_rules_catch_what_they_are_for() -> None:
    """The checker itself: an upward import, a sideways one and a reach past a public
    face are seen (so a green run means the rules hold, not that they were never run)."""
    assert _layer("newsletter.store.ledger") > _layer("newsletter.message.build")
    assert _layer("newsletter.api.sending") > _layer("newsletter.dispatch.engine")
    upward = Import("newsletter.store.ledger", "newsletter.dispatch.engine", 1)
    assert _layer(upward.target) >= _layer(upward.module)
    sideways = Import("newsletter.transports.smtp", "newsletter.store", 1)
    assert _layer(sideways.target) == _layer(sideways.module)
    assert any(i.module == "newsletter.api.sending" for i in IMPORTS)
    assert any(i.target == "sqlalchemy" for i in IMPORTS)


def test_no_module_cycle() -> None:
    """No module imports itself back through others (an import cycle half-initialises
    modules, and hides which one is the lower)."""
    graph: dict[str, set[str]] = {}
    modules = {i.module for i in IMPORTS}
    for i in IMPORTS:
        if i.target in modules and i.target != i.module and not _is_parent(i.target, i.module):
            graph.setdefault(i.module, set()).add(i.target)
    assert not _cycles(graph)


def _is_parent(package: str, module: str) -> bool:
    # A package's modules import siblings through the package's own __init__ at times,
    # and __init__ re-exports them: that pair is the package's public face, not a cycle.
    return module.startswith(package + ".")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                found.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The cycle check itself sees a circle of three and none in a chain."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": {"c"}}) == []
