"""The child process that reads a big CSV for an import.

``python -m newsletter.csvio._reader CSV SPOOL ROWS`` appends pickled chunks of
ROWS rows to SPOOL and announces each with a line on stdout, for `newsletter.csvio.chunks`,
which started it; it is not a command for people.
"""

from __future__ import annotations

import sys
from pathlib import Path

from newsletter.csvio.chunks import produce


def main(argv: list[str]) -> int:
    try:
        with Path(argv[1]).open("ab") as spool:
            produce(Path(argv[0]), spool, sys.stdout, int(argv[2]))
    except (BrokenPipeError, KeyboardInterrupt):
        return 1  # the parent stopped reading (an error, or the same Ctrl-C) and reports it
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
