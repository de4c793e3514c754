"""The per-field score of importing the seeds against the hand-made digests."""

from __future__ import annotations

from collections import defaultdict

# field -> [equal, compared]
SCORES: dict[str, list[int]] = defaultdict(lambda: [0, 0])


def record(field: str, equal: bool) -> None:
    SCORES[field][0] += equal
    SCORES[field][1] += 1


def table() -> list[str]:
    """One line per field: `outlet      31/31  100.0%`."""
    width = max(len(name) for name in SCORES)
    return [
        f"{name:<{width}}  {equal:>3}/{total:<3} {100 * equal / total:6.1f}%"
        for name, (equal, total) in SCORES.items()
    ]
