"""What every benchmark shares: results, the machine description, child processes."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    """One measured value, with the target it must meet (if any)."""

    label: str
    value: float
    unit: str
    limit: float | None = None

    @property
    def ok(self) -> bool:
        return self.limit is None or self.value <= self.limit

    @property
    def shown(self) -> str:
        """The value as printed: ratios (×) with two decimals, so 1.23 never reads 1.2."""
        return f"{self.value:.{2 if self.unit == '×' else 1}f}"

    def __str__(self) -> str:
        target = f" (target ≤ {self.limit:g} {self.unit})" if self.limit is not None else ""
        verdict = "" if self.limit is None else (" ok" if self.ok else " MISSED")
        return f"{self.label}: {self.shown} {self.unit}{target}{verdict}"


@dataclass(frozen=True)
class Result:
    """What one benchmark module reports."""

    name: str
    title: str
    description: str
    figures: list[Figure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(figure.ok for figure in self.figures)


@dataclass(frozen=True)
class ChildRun:
    """A finished child process: wall time, peak memory, exit code, output."""

    seconds: float
    peak_tree_mb: float  # the child and all its descendants together, sampled
    peak_rss_mb: float  # the child alone (and its largest descendant), from wait4
    returncode: int
    stdout: str
    stderr: str
    # User + system CPU of the child and the descendants it waited for (wait4): unlike
    # wall time, not stretched by other work queued on the same cores.
    cpu_seconds: float = 0.0


SAMPLE_SECONDS = 0.05


def run_child(args: list[str], *, cwd: Path) -> ChildRun:
    """Run a command; its wall time and peak memory.

    Memory is measured two ways: the sum of the resident sets of the child and
    its descendants (an import starts a CSV reader process), sampled every
    50 ms, and ru_maxrss from wait4, which the kernel keeps exactly but per
    process, never summed."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen(args, cwd=cwd, stdout=out, stderr=err)
        peak_tree = 0
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            peak_tree = max(peak_tree, _tree_rss_kib(child.pid))
            time.sleep(SAMPLE_SECONDS)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        return ChildRun(
            seconds=seconds,
            peak_tree_mb=max(peak_tree, usage.ru_maxrss) / 1024,  # ru_maxrss: KiB on Linux
            peak_rss_mb=usage.ru_maxrss / 1024,
            returncode=child.returncode,
            stdout=out.read(),
            stderr=err.read(),
            cpu_seconds=usage.ru_utime + usage.ru_stime,
        )


def _tree_rss_kib(root: int) -> int:
    """Resident memory of a process and all its descendants, in KiB (Linux /proc)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue  # the process ended meanwhile
        pid = int(entry.name)
        parents[pid] = int(stat.rsplit(")", 1)[1].split()[1])
        rss[pid] = next(
            (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")),
            0,
        )
    tree = {root}
    grew = True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(rss.get(pid, 0) for pid in tree)


def newsletter_command(*args: str) -> list[str]:
    """The `newsletter` CLI run by this interpreter, whatever the PATH."""
    return [sys.executable, "-c", "from newsletter.cli import main; main()", *args]


def serve_in_child(folder: Path, config: Path, url: str, secret: str) -> subprocess.Popen[bytes]:
    """`newsletter serve` of `config` in a child process on `url`'s port, once it answers
    /healthz (SystemExit if it exits or stays silent for 30 s); the caller stops it."""
    import httpx2  # only the web benchmarks need it

    server = subprocess.Popen(
        newsletter_command("--config", str(config), "serve", "--port", url.rsplit(":", 1)[1]),
        cwd=folder,
        env={**os.environ, "NEWSLETTER_SECRET": secret},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"newsletter serve exited with {server.returncode}")
        try:
            if httpx2.get(f"{url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx2.TransportError:
            time.sleep(0.05)
    server.kill()
    raise SystemExit("newsletter serve did not answer /healthz")


def load_average() -> str:
    """The 1-minute load average against the core count: how shared the machine was."""
    try:
        return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    except OSError:
        return "load average unknown"


def machine() -> str:
    """CPU model, cores, RAM and Python version, for the record beside the figures."""
    return (
        f"{_cpu_model()}, {os.cpu_count()} cores, {_ram_gib():.0f} GiB RAM, "
        f"Python {platform.python_version()} on {platform.system()} {platform.release()}"
    )


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _ram_gib() -> float:
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 0.0
    return pages / 2**30
