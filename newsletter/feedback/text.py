"""Text from a provider, made inert before it is stored.

Bounce and drop reasons are the words of remote mail servers, relayed by SendGrid;
event fields and suppression-list rows come from the network. Stored as they are,
a terminal escape sequence in a bounce reason would reach the editor's terminal
when `subscribers show` or `status` prints it, and a NUL would make PostgreSQL
refuse the whole webhook batch. So at ingestion every such text loses:

- C0 and C1 control characters (ESC, NUL, DEL, …; Unicode category Cc); line
  breaks and tabs become one space, since SMTP replies are often multi-line;
- Unicode format characters (category Cf): the bidirectional controls (U+061C,
  U+200E/F, U+202A–E, U+2066–9), which reorder what a terminal or a spreadsheet
  shows, and the invisible ones (zero-width spaces and joiners, U+FEFF, tag
  characters), which make two different texts look the same;
- lone surrogates (`"\\ud800"` in JSON; category Cs), which no database encoding
  can store;

and is capped in length. Escaping for each place the text is shown stays the
job of that place (HTML autoescape, the CLI's terminal escaping, CSV export).
"""

from __future__ import annotations

import re
from typing import Final

ELLIPSIS: Final = "…"
MAX_REASON: Final = 500  # SMTP replies are a line or three; SendGrid's drop reasons are short
MAX_ADDRESS: Final = 320  # longer than any valid address (RFC 5321 allows 254)

_SPACES = re.compile(r"[ \t]*[\t\n\r\x0b\x0c\x85\u2028\u2029]+[ \t]*")  # with the indent
# Categories Cc, Cf (as of Unicode 15) and Cs; tests/feedback/test_text.py checks the
# list against the running Python's unicodedata.
_INERT = re.compile(
    "[\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f\ud800-\udfff]"
)


def provider_text(value: object, limit: int = MAX_REASON) -> str:
    """`value` as text with control characters dropped (line breaks become a space),
    stripped, and cut to at most `limit` characters (the last one then `…`)."""
    text = _INERT.sub("", _SPACES.sub(" ", str(value))).strip()
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS
