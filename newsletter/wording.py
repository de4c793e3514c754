"""Counts in messages: "1 request", "2 requests", "1,000 batches".

Every message that states a number of things builds it here, so a count of one
never reads "1 requests". English only: the plural is the singular plus "s",
or the irregular form given.
"""

from __future__ import annotations


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`count` with thousands separators and the noun in the right number."""
    noun = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {noun}"
