"""Run the benchmarks: `python -m bench [NAME ...]` (all by default).

Prints each figure and rewrites that benchmark's section of docs/benchmarks.md
(other sections are kept), with the machine and date it was measured on.
Exits 1 if a figure misses its target. To add a benchmark, write a module with
a `run() -> Result` function and list it in BENCHMARKS.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path

from bench.common import Result, machine, today

BENCHMARKS = {
    "subscriber-import": "bench.subscriber_import",
    "dispatch-sendgrid": "bench.dispatch_sendgrid",
    "web-load": "bench.web_load",
    "webhook-attack": "bench.webhook_attack",
    "render-speed": "bench.render_speed",
    "webhook-events": "bench.webhook_events",
    "signup-load": "bench.signup_load",
}
REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\n"
    "Written by `make bench` (`python -m bench`); each section is replaced when its "
    "benchmark runs again. Figures depend on the machine, named in each section.\n"
)


def section(result: Result) -> str:
    rows = "\n".join(
        f"| {f.label} | {f.shown} {f.unit} | "
        f"{'≤ ' + format(f.limit, 'g') + ' ' + f.unit if f.limit is not None else '–'} | "
        f"{'ok' if f.ok else '**missed**'} |"
        for f in result.figures
    )
    return (
        f"<!-- begin {result.name} -->\n## {result.title}\n\n"
        f"Measured {today()} on {machine()}.\n\n{result.description}\n\n"
        f"| figure | measured | target | |\n|---|---|---|---|\n{rows}\n"
        f"<!-- end {result.name} -->\n"
    )


def update_report(text: str, result: Result) -> str:
    """`text` with the benchmark's section replaced, or appended if new."""
    begin, end = f"<!-- begin {result.name} -->", f"<!-- end {result.name} -->\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        return head + section(result) + rest.split(end, 1)[1]
    return text.rstrip("\n") + "\n\n" + section(result)


def main(names: list[str]) -> int:
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else HEADER
    missed = False
    for name in names or list(BENCHMARKS):
        runner: Callable[[], Result] = importlib.import_module(BENCHMARKS[name]).run
        print(f"{name}: running…", flush=True)
        result = runner()
        for figure in result.figures:
            print(f"  {figure}")
        missed |= not result.ok
        text = update_report(text, result)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text, encoding="utf-8")
    print(f"figures written to {REPORT}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
