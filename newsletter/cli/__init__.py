"""The command line: the only layer that prints and chooses exit codes.

Commands parse arguments, call the library, and turn its errors (BaseNewsletterError) into a
clear message on stderr with the error's own exit code (see docs/cli.md).
"""

from __future__ import annotations

import sys

from newsletter.cli import approval_commands as _approval_commands  # noqa: F401  (registers)
from newsletter.cli import digest_commands as _digest_commands  # noqa: F401  (registers)
from newsletter.cli import report_commands as _report_commands  # noqa: F401  (registers)
from newsletter.cli import send_commands as _send_commands  # noqa: F401  (registers)
from newsletter.cli import subscriber_commands as _subscriber_commands  # noqa: F401  (registers)
from newsletter.cli import web_commands as _web_commands  # noqa: F401  (registers)
from newsletter.cli.app import cli
from newsletter.errors import EXIT_USAGE


def main() -> None:
    """Console-script entry point."""
    try:
        cli.main(prog_name="newsletter", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    sys.exit(EXIT_USAGE)  # pragma: no cover - click always exits in standalone mode


__all__ = ["cli", "main"]
