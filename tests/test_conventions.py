"""Conventions of issue 11, checked from the package's source with `ast`:

- abilities are declared by protocols, never probed: no `getattr`/`hasattr` with a
  literal attribute name outside the few justified uses listed here;
- the time is read through a `Clock`: no `datetime.now`, `date.today`, `time.time()`
  outside newsletter/clock.py, except the justified uses listed here;
- send and delivery states are spelled once, in newsletter/states.py: no bare state
  string elsewhere in the code (migrations are frozen history and keep theirs).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from newsletter.states import DeliveryState, SendState

PACKAGE = Path(__file__).resolve().parent.parent / "newsletter"


def _sources() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).as_posix()
        yield relative, ast.parse(path.read_text(encoding="utf-8"), relative)


# (file, attribute) of each getattr/hasattr with a literal name, and why it is no probe.
JUSTIFIED_GETATTR = {
    # PyYAML's errors carry problem_mark on some subclasses only: reading an error, not
    # finding out what a collaborator can do.
    ("newsletter/config.py", "problem_mark"),
    # A threading.local attribute is absent until this thread sets it: a per-thread cache.
    ("newsletter/transports/sendgrid.py", "client"),
    # The email package's parsed header: only address headers have `addresses`.
    ("newsletter/message/headers.py", "addresses"),
    # premailer queries its lxml tree (for <head>) and its root element (for each rule):
    # only an element has getroottree, premailer's own test (render/inline.py's index
    # answers the rules' queries only).
    ("newsletter/render/inline.py", "getroottree"),
}


def _literal_getattrs() -> set[tuple[str, str]]:
    found = set()
    for relative, tree in _sources():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr")
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                found.add((relative, node.args[1].value))
    return found


def test_no_ability_is_probed_with_getattr() -> None:
    """A transport's abilities are declared (Scheduler, `supports`) and found through
    scheduler_of / check_options, never by getattr/hasattr on a method name: the only
    literal-name getattr calls left are the justified ones above (the API's own
    `create_batch` probe, which bypassed the Scheduler protocol, would be caught)."""
    assert _literal_getattrs() <= JUSTIFIED_GETATTR


# (file, call) of each read of the time not through a Clock, and why.
JUSTIFIED_TIME_READS: set[tuple[str, str]] = {
    # The machine's clock, given to everything else.
    ("newsletter/clock.py", "datetime.now"),
    # An HTTP-date Retry-After is turned into seconds to wait: wall time for pacing,
    # never stored nor compared with a stored moment.
    ("newsletter/transports/sendgrid.py", "time.time"),
}


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def _time_reads() -> set[tuple[str, str]]:
    found = set()
    for relative, tree in _sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _dotted(node.func)
            for read in ("datetime.now", "datetime.utcnow", "date.today", "time.time"):
                if name == read or name.endswith("." + read):
                    found.add((relative, read))
    return found


def test_the_time_is_read_through_a_clock() -> None:
    """Every moment that is stored, compared or shown comes from a Clock: no module but
    newsletter/clock.py calls datetime.now (or utcnow, date.today, time.time), except
    the justified reads above. (The archive's feed read datetime.now for an empty
    archive's `updated`, so a FixedClock did not reach it.)"""
    assert _time_reads() <= JUSTIFIED_TIME_READS


STATES = {state.value for state in (*SendState, *DeliveryState)}


def _bare_states() -> list[str]:
    found = []
    for relative, tree in _sources():
        if relative == "newsletter/states.py" or "/migrations/" in relative:
            continue
        # An enum member's own value (Outcome.ACCEPTED = "accepted") is a definition.
        definitions = {
            id(statement.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef)
            for statement in node.body
            if isinstance(statement, ast.Assign)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and node.value in STATES
                and id(node) not in definitions
            ):
                found.append(f"{relative}:{node.lineno}: {node.value!r}")
    return found


def test_states_are_spelled_only_in_newsletter_states() -> None:
    """Send and delivery states are SendState/DeliveryState members everywhere: no
    string such as "accepted" or "pending" compared or listed outside newsletter/states.py
    (a preview's count of refusals and the CLI's order of counts used bare strings)."""
    assert _bare_states() == []
