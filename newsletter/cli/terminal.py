"""Making stored text inert before it reaches the editor's terminal.

Subscriber names, attributes, bounce and drop reasons from remote mail servers,
notes and error texts come from outside. Printed raw, an escape sequence in one
of them (ESC ``[``…, OSC 8 hyperlinks, OSC 52 clipboard writes, a ``\\r`` that
overwrites the line before it) acts on the terminal instead of being read. Every
CLI line that carries such text goes through `inert`, which shows each control
character as a visible escape, so the text reads the same and does nothing.
"""

from __future__ import annotations

import unicodedata

# Shown as escapes: controls (C0 with tab and newline: one stored value is one line of
# output; DEL; C1, where U+009B is a one-byte CSI on some terminals), every invisible
# format character (the bidirectional marks, overrides and isolates that reorder what
# is shown, "Trojan Source", CVE-2021-42574; zero-width characters; U+FEFF; tag
# characters), lone surrogates, and the Unicode line and paragraph separators. The
# same Unicode categories provider text is cleaned of on arrival (newsletter/feedback/text.py).
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _visible(character: str) -> str:
    if unicodedata.category(character) not in _UNSAFE_CATEGORIES:
        return character
    code = ord(character)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def inert(text: object) -> str:
    """`text` (made a str) with every control character shown as ``\\xNN``/``\\uNNNN``.

    ``inert("Ann\\x1b]8;;http://x\\x07")`` is ``'Ann\\\\x1b]8;;http://x\\\\x07'``: the
    same characters to read, nothing for the terminal to act on. Printable text,
    accents and non-Latin scripts pass unchanged."""
    value = str(text)
    if value.isprintable():
        return value
    return "".join(_visible(character) for character in value)


def inert_lines(text: str) -> str:
    """Each line of a message made inert, keeping the message's own line breaks."""
    return "\n".join(inert(line) for line in text.split("\n"))
