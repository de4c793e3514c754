"""Importing a 1,000,000-row subscriber CSV, against sqlite-utils on the same file.

Target (issue 16): the first import takes at most 0.4 times what
`sqlite-utils insert --csv --pk email` (3.x, a dev extra) takes for the same file
in the same run, every address still validated and normalised and suppressions
still winning, at most 150 MB peak memory. The import runs through the real CLI
in a child process (wall time and peak RSS measured); so does the anchor. A
second import of the same file (every row unchanged, the weekly re-import case)
is measured the same way, and the sqlite3 shell's `.import` (C, no checks) is
timed as the floor, for information, when the shell exists.

Everything runs in a folder on /dev/shm when there is one: sqlite-utils commits
every 100 rows, and on a disk shared with other work its fsyncs would make the
anchor's time (and the ratio) depend on the disk rather than the code.
"""

from __future__ import annotations

import csv
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

from bench.common import ChildRun, Figure, Result, load_average, newsletter_command, run_child

ROWS = 1_000_000
RATIO_LIMIT = 0.4
MEMORY_LIMIT_MB = 150.0
# A RAM-backed folder; TemporaryDirectory makes a private (0700) folder inside it.
FAST_FOLDER = Path("/dev/shm")  # noqa: S108
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


def _sqlite_utils(folder: Path, csv_path: Path) -> ChildRun:
    """The anchor: `sqlite-utils insert anchor.db subscribers FILE --csv --pk email`."""
    run = run_child(
        [
            *(sys.executable, "-m", "sqlite_utils", "insert", str(folder / "anchor.db")),
            *("subscribers", str(csv_path), "--csv", "--pk", "email"),
        ],
        cwd=folder,
    )
    if run.returncode != 0:
        raise SystemExit(f"sqlite-utils failed ({run.returncode}):\n{run.stderr}")
    return run


def _sqlite_shell(folder: Path, csv_path: Path) -> ChildRun | None:
    """The C floor: the sqlite3 shell's `.import --csv` (no checks), if the shell exists."""
    shell = shutil.which("sqlite3")
    if shell is None:
        return None
    run = run_child(
        [shell, str(folder / "floor.db"), f".import --csv {csv_path} subscribers"], cwd=folder
    )
    return run if run.returncode == 0 else None


def _folder() -> str | None:
    return str(FAST_FOLDER) if FAST_FOLDER.is_dir() and os.access(FAST_FOLDER, os.W_OK) else None


def run() -> Result:
    with tempfile.TemporaryDirectory(prefix="newsletter-bench-", dir=_folder()) as tmp:
        folder = Path(tmp)
        csv_path = folder / "weekly.csv"
        write_csv(csv_path, ROWS)
        (folder / "config.yaml").write_text(
            "database:\n  url: sqlite:///store.sqlite3\n"
            "lists:\n  weekly:\n    file: weekly.csv\n    weekly: true\n",
            encoding="utf-8",
        )
        load_before = load_average()
        anchor = _sqlite_utils(folder, csv_path)
        first = _import(folder, csv_path)
        again = _import(folder, csv_path)
        floor = _sqlite_shell(folder, csv_path)
        load_after = load_average()
        size_mb = csv_path.stat().st_size / 1e6
    floor_note = (
        f"The sqlite3 shell's `.import --csv` (C, no checks) took {floor.seconds:.1f} s: the "
        f"import is at {first.seconds / floor.seconds:.1f}× that floor."
        if floor is not None
        else "The sqlite3 shell was not found: no C floor this run."
    )
    return Result(
        name="subscriber-import",
        title=f"Subscriber import: {ROWS:,} rows into SQLite, against sqlite-utils",
        description=(
            f"`newsletter subscribers import` of a generated {size_mb:.0f} MB CSV "
            "(email, name, country, city; 2% of addresses in upper case) into a fresh "
            "SQLite store, in a child process; then the same file again (all unchanged). "
            "Anchor, same file, same run: `sqlite-utils insert --csv --pk email` (no "
            f"address checks) into a fresh database. All in {_folder() or 'the temporary folder'}. "
            f"{floor_note} CPU time is user + system of each command and its child "
            "processes (the import reads the file in a second process, so its CPU time "
            f"can exceed its wall time). Machine: {load_before} before, {load_after} "
            "after.\n\n"
            f"First import: `{first.stdout.strip().splitlines()[-1]}`"
        ),
        figures=[
            Figure("sqlite-utils insert --csv --pk email, wall time", anchor.seconds, "s"),
            Figure("first import, wall time", first.seconds, "s"),
            Figure("first import / sqlite-utils", first.seconds / anchor.seconds, "×", RATIO_LIMIT),
            Figure("sqlite-utils, CPU time", anchor.cpu_seconds, "s"),
            Figure("first import, CPU time (both processes)", first.cpu_seconds, "s"),
            Figure(
                "first import / sqlite-utils, CPU time", first.cpu_seconds / anchor.cpu_seconds, "×"
            ),
            Figure(
                "first import, peak memory (both processes)",
                first.peak_tree_mb,
                "MB",
                MEMORY_LIMIT_MB,
            ),
            Figure("first import, peak RSS of the main process", first.peak_rss_mb, "MB"),
            Figure("re-import (all unchanged), wall time", again.seconds, "s"),
            Figure("re-import / sqlite-utils", again.seconds / anchor.seconds, "×"),
            Figure(
                "re-import, peak memory (both processes)", again.peak_tree_mb, "MB", MEMORY_LIMIT_MB
            ),
        ],
    )
