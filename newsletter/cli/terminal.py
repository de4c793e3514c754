"""Making stored text inert before it reaches the editor's terminal.

Subscriber names, attributes, bounce and drop reasons from remote mail servers,
notes and error texts come from outside. Printed raw, an escape sequence in one
of them (ESC ``[``…, OSC 8 hyperlinks, OSC 52 clipboard writes, a ``\\r`` that
overwrites the line before it) acts on the terminal instead of being read. Every
CLI line that carries such text goes through `inert`, which shows each control
character as a visible escape, so the text reads the same and does nothing.
"""

from __future__ import annotations

import re

# C0 controls (tab and newline included: one stored value is one line of output), DEL,
# C1 controls (U+009B is a one-byte CSI on some terminals), the Unicode line and
# paragraph separators, and the bidirectional overrides and isolates that reorder
# what is shown ("Trojan Source", CVE-2021-42574).
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def inert(text: object) -> str:
    """`text` (made a str) with every control character shown as ``\\xNN``/``\\uNNNN``.

    ``inert("Ann\\x1b]8;;http://x\\x07")`` is ``'Ann\\\\x1b]8;;http://x\\\\x07'``: the
    same characters to read, nothing for the terminal to act on. Printable text,
    accents and non-Latin scripts pass unchanged."""
    value = str(text)
    return _UNSAFE.sub(_visible, value) if not value.isprintable() else value


def inert_lines(text: str) -> str:
    """Each line of a message made inert, keeping the message's own line breaks."""
    return "\n".join(inert(line) for line in text.split("\n"))
