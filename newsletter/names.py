"""Subscriber names: what may be stored, since every name ends up in a To header.

Checked at import, `subscribers add` and any other way a name is stored, on
top of the control-character rule every CSV cell meets (`csvfile.clean_text`):

- at most `MAX_NAME` characters (a 100,000-character name would make a To line
  far over RFC 5322's 998 octets);
- no ``=?``, which opens an RFC 2047 encoded word: a name that is one could be
  decoded by a mail program into a line break, a ``Bcc:`` or another address.

The header builder (`newsletter.message.headers`) neutralises both again for
names stored before these rules.
"""

from __future__ import annotations

MAX_NAME = 200


def check_name(name: str, column: str = "name") -> str:
    """`name` (already trimmed, one line) if it may be stored; ValueError saying why."""
    if len(name) > MAX_NAME:
        raise ValueError(
            f"{column}: {len(name):,} characters; expected at most {MAX_NAME} "
            "(names go into the To header)"
        )
    if "=?" in name:
        raise ValueError(
            f"{column}: contains '=?', which starts an RFC 2047 encoded word in a header; "
            "expected plain text"
        )
    return name
