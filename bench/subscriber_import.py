"""Importing a 1,000,000-row subscriber CSV into a fresh SQLite store.

Target (issue 3): ≤ 20 s and ≤ 200 MB peak memory on a 2-core machine. The
import runs through the real CLI in a child process, whose own wall time and
peak RSS are measured; a second import of the same file (every row unchanged,
the weekly re-import case) is measured the same way.
"""

from __future__ import annotations

import csv
import random
import tempfile
from pathlib import Path

from bench.common import ChildRun, Figure, Result, newsletter_command, run_child

ROWS = 1_000_000
SECONDS_LIMIT = 20.0
MEMORY_LIMIT_MB = 200.0
COUNTRIES = ("KZ", "GB", "FR", "DE", "US", "CN", "RU", "TR", "IN", "JP")
FIRST = ("Aigerim", "John", "Marie", "Li", "Olga", "Ahmet", "Priya", "Yuki", "Hans", "Ana")
LAST = ("Sadykova", "Smith", "Dupont", "Wei", "Ivanova", "Yilmaz", "Sharma", "Sato", "Muller")


def write_csv(path: Path, rows: int, seed: int = 3) -> None:
    """A list like a real export: email,name,country,city; a few addresses in upper case."""
    rng = random.Random(seed)
    domains = [f"mail{n}.example.{tld}" for n in range(100) for tld in ("com", "org")]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(["email", "name", "country", "city"])
        for n in range(rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first}.{last}.{n}@{rng.choice(domains)}".lower()
            if n % 50 == 0:
                email = email.upper()
            writer.writerow([email, f"{first} {last}", rng.choice(COUNTRIES), f"City {n % 997}"])


def _import(folder: Path, csv_path: Path) -> ChildRun:
    run = run_child(
        newsletter_command("subscribers", "import", str(csv_path), "--list", "weekly"),
        cwd=folder,
    )
    if run.returncode != 0:
        raise SystemExit(f"import failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    return run


def run() -> Result:
    with tempfile.TemporaryDirectory(prefix="newsletter-bench-") as tmp:
        folder = Path(tmp)
        csv_path = folder / "weekly.csv"
        write_csv(csv_path, ROWS)
        (folder / "config.yaml").write_text(
            "database:\n  url: sqlite:///store.sqlite3\n"
            "lists:\n  weekly:\n    file: weekly.csv\n    weekly: true\n",
            encoding="utf-8",
        )
        first = _import(folder, csv_path)
        again = _import(folder, csv_path)
        size_mb = csv_path.stat().st_size / 1e6
    return Result(
        name="subscriber-import",
        title=f"Subscriber import: {ROWS:,} rows into SQLite",
        description=(
            f"`newsletter subscribers import` of a generated {size_mb:.0f} MB CSV "
            "(email, name, country, city; 2% of addresses in upper case) into a fresh "
            "SQLite store, in a child process; then the same file again (all unchanged).\n\n"
            f"First import: `{first.stdout.strip().splitlines()[0]}`"
        ),
        figures=[
            Figure("first import, wall time", first.seconds, "s", SECONDS_LIMIT),
            Figure(
                "first import, peak memory (both processes)",
                first.peak_tree_mb,
                "MB",
                MEMORY_LIMIT_MB,
            ),
            Figure("first import, peak RSS of the main process", first.peak_rss_mb, "MB"),
            Figure("re-import (all unchanged), wall time", again.seconds, "s", SECONDS_LIMIT),
            Figure(
                "re-import, peak memory (both processes)", again.peak_tree_mb, "MB", MEMORY_LIMIT_MB
            ),
        ],
    )
