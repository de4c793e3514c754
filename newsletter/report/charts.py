"""The report's charts as inline SVG, drawn by matplotlib: its one importer.

Only the object-oriented API (`Figure`), never pyplot: no global figure state, so the
web's threads can draw at the same time. The SVG is self-contained: text is kept as
text (`svg.fonttype: none`, drawn in the page's own sans-serif fonts), nothing is
linked, ids are stable (`svg.hashsalt`) and no date is written, so the same report
draws the same bytes. Text from outside (headlines) is never parsed as mathtext
(`text.parse_math: false`: a headline with `$` stays as written) and matplotlib
escapes it for XML.
"""

from __future__ import annotations

import io
import re
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import matplotlib as mpl
from matplotlib.figure import Figure

mpl.rcParams.update(
    {
        "svg.fonttype": "none",
        "svg.hashsalt": "newsletter-report",
        "text.parse_math": False,
        "font.family": "sans-serif",
        "font.size": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)

INK = "#1d1d1f"
MUTED = "#55585e"
BLUE = "#0b5cad"
GREY = "#9a9ca1"
RED = "#b3261e"
ORANGE = "#a35200"
WIDTH_IN = 6.4  # inches at matplotlib's 72 pt per inch; the page scales the SVG to fit
LABEL_CHARACTERS = 48  # a headline longer than this is cut on the chart (the table has it all)
_PROLOGUE = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)  # the XML declaration and DOCTYPE
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)  # RDF naming matplotlib
# matplotlib is not thread-safe (its font cache, its text layout): one chart at a time.
_DRAWING = threading.Lock()


@contextmanager
def _drawing() -> Iterator[None]:
    """One chart at a time, without matplotlib's warning for a character its bundled
    font lacks (a headline in Chinese, an emoji): the SVG keeps the text as text and the
    reader's browser draws it with its own fonts; only the label's measured width is
    approximate."""
    with _DRAWING, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
        yield


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value, and a second value stacked after it (or 0)."""

    label: str
    value: float
    extra: float = 0.0


def _svg(figure: Figure, title: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    svg = _METADATA.sub("", _PROLOGUE.sub("", buffer.getvalue(), count=1), count=1)
    # A chart is an image to assistive technology, named by its title; the numbers
    # are in the table beside it.
    name = title.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return svg.replace("<svg ", f'<svg role="img" aria-label="{name}" ', 1)


def _figure(height_in: float) -> Figure:
    return Figure(figsize=(WIDTH_IN, height_in), facecolor="white")


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARACTERS else label[: LABEL_CHARACTERS - 1] + "…"


def bar_chart(
    title: str, bars: Sequence[Bar], *, value_label: str, extra_label: str | None = None
) -> str:
    """Horizontal bars, first at the top, each with its number at its end: the delivery
    funnel, clicks per item (`extra` stacked in grey: scanner clicks)."""
    with _drawing():
        return _bar_chart(title, bars, value_label=value_label, extra_label=extra_label)


def _bar_chart(
    title: str, bars: Sequence[Bar], *, value_label: str, extra_label: str | None
) -> str:
    figure = _figure(0.5 + 0.42 * max(len(bars), 1))
    axes = figure.add_subplot()
    positions = list(range(len(bars)))[::-1]
    values = [bar.value for bar in bars]
    extras = [bar.extra for bar in bars]
    axes.barh(positions, values, color=BLUE, label=value_label)
    if extra_label is not None:
        axes.barh(positions, extras, left=values, color=GREY, label=extra_label)
        axes.legend(loc="lower right", frameon=False, fontsize=8)
    axes.set_yticks(positions, [_short(bar.label) for bar in bars], color=INK)
    top = max((v + e for v, e in zip(values, extras, strict=True)), default=0) or 1
    axes.set_xlim(0, top * 1.18)
    for position, bar in zip(positions, bars, strict=True):
        shown = f"{bar.value:,.0f}" + (f" + {bar.extra:,.0f}" if bar.extra else "")
        axes.text(bar.value + bar.extra + top * 0.01, position, shown, va="center", color=INK)
    axes.tick_params(axis="x", colors=MUTED)
    axes.tick_params(axis="y", length=0)
    axes.set_xlabel(value_label if extra_label is None else "clicks", color=MUTED)
    return _svg(figure, title)


def rate_chart(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[float | None]]]
) -> str:
    """Rates (0..1) over issues, oldest left, in percent: one panel per series (name,
    colour, values), so a 99 % delivery rate and a 0.1 % complaint rate are both
    readable. A missing value (no delivered message) leaves a gap."""
    with _drawing():
        return _rate_chart(title, labels, series)


def _rate_chart(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[float | None]]]
) -> str:
    figure = _figure(1.0 + 1.1 * len(series))
    panels = figure.subplots(len(series), 1, sharex=True, squeeze=False)
    xs = list(range(len(labels)))
    for (name, colour, values), row in zip(series, panels, strict=True):
        axes = row[0]
        ys = [float("nan") if v is None else v * 100 for v in values]
        axes.plot(xs, ys, marker="o", color=colour)
        axes.set_ylabel(f"{name} %", color=INK)
        axes.set_ylim(bottom=0)
        axes.tick_params(colors=MUTED)
        axes.grid(axis="y", color="#e4e2de", linewidth=0.8)
    last = panels[-1][0]
    last.set_xticks(xs, list(labels), rotation=45, ha="right")
    return _svg(figure, title)
