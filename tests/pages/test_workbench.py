"""The workbench page's pieces that need no server: findings linked to their items, and
the dark copy of the email."""

from __future__ import annotations

from newsletter.pages import FindingView, dark_variant


def test_a_finding_links_to_the_item_it_concerns() -> None:
    """`items[2].url` → the page's `#item-2`; a finding about the whole issue has no link."""
    assert FindingView("warning", "items[2].url", "same URL twice", "").anchor == "item-2"
    assert FindingView("warning", "items[10]", "long", "").anchor == "item-10"
    assert FindingView("blocking", "subject", "too long", "").anchor is None
    assert FindingView("blocking", "", "no unsubscribe link", "").anchor is None


def test_the_dark_copy_applies_the_dark_rules_unconditionally() -> None:
    """Every spelling of the dark query becomes always-true, the light one never-true;
    nothing else in the HTML changes."""
    html = (
        "<style>@media (prefers-color-scheme: dark) { .a { color: #fff } }"
        "@media screen and (PREFERS-COLOR-SCHEME:dark) { .b {} }"
        "@media (prefers-color-scheme: light) { .c {} }</style><p>prefers-color-scheme</p>"
    )
    assert dark_variant(html) == (
        "<style>@media (min-width: 0px) { .a { color: #fff } }"
        "@media screen and (min-width: 0px) { .b {} }"
        "@media (max-width: 0px) { .c {} }</style><p>prefers-color-scheme</p>"
    )
