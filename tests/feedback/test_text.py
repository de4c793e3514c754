"""Provider text is stored inert: no control characters, capped in length."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from newsletter.feedback.text import provider_text


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("550 5.1.1 user unknown", "550 5.1.1 user unknown"),
        ("\x1b[2J\x1b]0;pwned\x07bounce", "[2J]0;pwnedbounce"),
        ("a\x00b\x7fc\x9bd", "abcd"),
        ("550-first line\r\n550 second", "550-first line 550 second"),
        ("tab\there", "tab here"),
        ("\u202egnp.exe\u2066x\u2069", "gnp.exex"),
        ("\u061cARABIC LETTER MARK", "ARABIC LETTER MARK"),
        ("reader@example.com\u200b\ufeff", "reader@example.com"),
        ("hidden\U000e0041\U000e0042 tags", "hidden tags"),
        ("lone \ud800 surrogate", "lone  surrogate"),
        ("  padded  ", "padded"),
        (12345, "12345"),
    ],
)
def test_controls_are_dropped(raw: object, stored: str) -> None:
    """C0/C1 controls, bidi controls and lone surrogates go; line breaks become a space."""
    assert provider_text(raw) == stored


def test_length_is_capped() -> None:
    """Text over the limit is cut, its last character an ellipsis."""
    assert provider_text("x" * 600, 500) == "x" * 499 + "…"
    assert len(provider_text("y" * 10_000)) == 500


def test_every_control_format_and_surrogate_character_is_dropped() -> None:
    """Every code point of Unicode categories Cc, Cf and Cs (as this Python knows them) is
    dropped, or, for the line-break controls, becomes a space: none is stored. (U+061C,
    a bidi control, and the zero-width characters were once kept.)"""
    kept = [
        f"U+{cp:04X}"
        for cp in range(sys.maxunicode + 1)
        if unicodedata.category(chr(cp)) in {"Cc", "Cf", "Cs"}
        and provider_text(f"a{chr(cp)}b") not in {"ab", "a b"}
    ]
    assert kept == []
