"""Rendering one issue, warm, against the official MJML compiler on the same MJML.

Target (issue 16): the whole render (Jinja2 → MJML → mjml-python → premailer →
line breaking → text part) of a 7-item digest takes at most 1.2 times what the
official MJML compiler (npm `mjml`, in process in node, warm) takes to compile the
same MJML alone. Both are measured here, in this run, in rounds of back-to-back
calls after a warm-up; each side's figure is its best round (the least disturbed
by other work on a shared machine), in wall time and in CPU time. Both ratios must
meet the target. premailer's options are measured on the same HTML as well
(informative: the product's choice is recorded in docs/benchmarks.md).

The anchor needs node and the `mjml` package: NEWSLETTER_MJML_BIN (or `mjml` on
the PATH) names the CLI, whose node_modules folder holds the package. Without either,
`make bench` installs it from npm into .tools/mjml, where node and npm exist
(docs/rendering.md, "Validating the MJML"). Without node the ratios are skipped,
with a note.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import Figure, Result, load_average

REPO = Path(__file__).resolve().parent.parent
DIGEST = REPO / "digests" / "2025-09-12.json"
NODE_SCRIPT = Path(__file__).resolve().parent / "mjml_compile.js"
# Where `make bench` installs the official compiler when there is none (npm, first run).
LOCAL_MJML = REPO / ".tools" / "mjml" / "node_modules" / ".bin" / "mjml"
RATIO_LIMIT = 1.2
WARM_UP = 20
CALLS = 20  # per round
ROUNDS = 7


def best_round(call: Callable[[], object]) -> tuple[float, float]:
    """(wall ms, CPU ms) per call of the best of ROUNDS rounds of CALLS calls, after a warm-up."""
    for _ in range(WARM_UP):
        call()
    wall, cpu = [], []
    for _ in range(ROUNDS):
        started, used = time.perf_counter(), time.process_time()
        for _ in range(CALLS):
            call()
        wall.append((time.perf_counter() - started) * 1000 / CALLS)
        cpu.append((time.process_time() - used) * 1000 / CALLS)
    return min(wall), min(cpu)


def node_modules() -> Path | None:
    """The node_modules folder holding the official `mjml` package, or None (no node, or
    no package): NEWSLETTER_MJML_BIN's, else that of `mjml` on the PATH, else the one
    `make bench` installs into .tools/mjml."""
    if shutil.which("node") is None:
        return None
    binaries = [os.environ.get("NEWSLETTER_MJML_BIN") or shutil.which("mjml"), LOCAL_MJML]
    for binary in filter(None, binaries):
        for folder in Path(binary).parents:  # …/node_modules/.bin/mjml, not resolved
            if folder.name == "node_modules" and (folder / "mjml" / "package.json").exists():
                return folder
    return None


def official_compile(mjml_file: Path, modules: Path) -> tuple[float, float, str]:
    """(wall ms, CPU ms, version) per compile of the official MJML, best round, warm."""
    done = subprocess.run(
        ["node", str(NODE_SCRIPT), str(modules), str(mjml_file), str(CALLS), str(ROUNDS)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    found = json.loads(done.stdout)
    return min(found["wall_ms"]), min(found["cpu_ms"]), found["version"]


def premailer_options(html: str) -> list[Figure]:
    """premailer's own speed with each option that matters here, on the compiled HTML."""
    import premailer

    from newsletter.render import inline

    base = {**inline.PREMAILER_OPTIONS}
    variants: dict[str, Callable[[], object]] = {
        "premailer as before (its own caches only)": lambda: premailer.Premailer(
            html, **base
        ).transform(pretty_print=False),
        "premailer, cache_css_parsing=False": lambda: premailer.Premailer(
            html, **base, cache_css_parsing=False
        ).transform(pretty_print=False),
        "premailer, disable_validation=False": lambda: premailer.Premailer(
            html, **{**base, "disable_validation": False}
        ).transform(pretty_print=False),
        "premailer, exclude_pseudoclasses=False": lambda: premailer.Premailer(
            html, **base, exclude_pseudoclasses=False
        ).transform(pretty_print=False),
        "premailer, align_floating_images=False": lambda: premailer.Premailer(
            html, **base, align_floating_images=False
        ).transform(pretty_print=False),
        "premailer as the product runs it (render/inline.py)": lambda: inline.inline_css(html),
    }
    logging.getLogger("CSSUTILS").setLevel(logging.CRITICAL)
    return [Figure(f"{label}, CPU", best_round(call)[1], "ms") for label, call in variants.items()]


def run() -> Result:
    from newsletter.config import load_config
    from newsletter.digest.load import load_digest
    from newsletter.render import inline, render_issue
    from newsletter.render.compile import compile_mjml
    from newsletter.render.inline import inline_css
    from newsletter.render.lines import break_html_lines
    from newsletter.render.templating import wrap

    load_before = load_average()
    config = load_config(REPO / "config.yaml")
    digest = load_digest(DIGEST)
    issue = render_issue(digest, config)
    wall, cpu = best_round(lambda: render_issue(digest, config))

    def forgetting() -> object:
        """A render with nothing of this digest remembered: its wrapped paragraphs and
        its elements' merged styles (the template's stylesheet stays remembered)."""
        wrap.cache_clear()
        inline._merged.clear()
        return render_issue(digest, config)

    _, cpu_forgetting = best_round(forgetting)
    compiled = compile_mjml(issue.mjml)
    inlined = inline_css(compiled)
    stages = [
        Figure(
            "  of which mjml-python, CPU", best_round(lambda: compile_mjml(issue.mjml))[1], "ms"
        ),
        Figure("  of which premailer, CPU", best_round(lambda: inline_css(compiled))[1], "ms"),
        Figure(
            "  of which line breaking, CPU", best_round(lambda: break_html_lines(inlined))[1], "ms"
        ),
    ]
    figures = [
        Figure("whole render, warm, wall", wall, "ms"),
        Figure("whole render, warm, CPU", cpu, "ms"),
        Figure("whole render, nothing of this digest remembered, CPU", cpu_forgetting, "ms"),
    ]
    modules = node_modules()
    if modules is None:
        anchor = "The anchor was **skipped**: node or the npm `mjml` package was not found."
    else:
        with tempfile.TemporaryDirectory(prefix="newsletter-bench-") as tmp:
            mjml_file = Path(tmp) / "digest.mjml"
            mjml_file.write_text(issue.mjml, encoding="utf-8")
            node_wall, node_cpu, version = official_compile(mjml_file, modules)
        anchor = f"Anchor: official MJML {version} (node, in process, warm)."
        figures += [
            Figure("official MJML compile alone, warm, wall", node_wall, "ms"),
            Figure("official MJML compile alone, warm, CPU", node_cpu, "ms"),
            Figure("whole render / official MJML, wall", wall / node_wall, "×", RATIO_LIMIT),
            Figure("whole render / official MJML, CPU", cpu / node_cpu, "×", RATIO_LIMIT),
        ]
    return Result(
        name="render-speed",
        title="Render: one 7-item issue, warm, against official MJML alone",
        description=(
            f"`render_issue` of {DIGEST.name} ({len(digest.items)} items; "
            f"{issue.html_size / 1000:.0f} KB of HTML): Jinja2, mjml-python, premailer, "
            "line breaking and the text part, against the official MJML compiler "
            f"compiling the same MJML ({len(issue.mjml) / 1000:.0f} KB). Each figure is the "
            f"best of {ROUNDS} rounds of {CALLS} calls after {WARM_UP} warm-up calls, in "
            "wall and in CPU time (node's CPU time includes its garbage-collector "
            "threads). The render remembers wrapped paragraphs and merged styles between "
            "calls; the row 'nothing of this digest remembered' forgets them before each "
            f"call (informative). {anchor} premailer's options are measured on the same HTML "
            f"(informative). Machine: {load_before} at the start."
        ),
        figures=figures + stages + premailer_options(compiled),
    )
