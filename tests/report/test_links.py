"""A clicked URL is matched to the digest item whose link it is, whatever SendGrid or the
campaign parameters added to it, and never to an item whose link merely looks alike."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsletter.report import normalise
from newsletter.report.links import attribute, item_positions

ITEM = "https://www.euractiv.com/section/central-asia/kazakhstan/"


@pytest.mark.parametrize(
    "clicked",
    [
        ITEM,
        ITEM + "?utm_source=newsletter&utm_medium=email&utm_campaign=2025-09-12",
        ITEM + "#comments",
        ITEM + "?UTM_Source=x#top",
        "HTTPS://WWW.Euractiv.com:443/section/central-asia/kazakhstan/",
        "https://www.euractiv.com/section/central%2Dasia/kazakhstan/",
        " " + ITEM + "?utm_term=a%20b ",
    ],
)
def test_campaign_parameters_fragments_and_spelling_do_not_change_the_item(clicked: str) -> None:
    """UTM parameters (any case), a fragment, the host's case, the default port and
    percent-encoding of an unreserved character all leave the link the item's own."""
    assert attribute([clicked], item_positions([None, ITEM])) == {clicked: 2}


@pytest.mark.parametrize(
    "clicked",
    [
        "https://www.euractiv.com/section/central-asia/kazakhstan/?page=2",
        "http://www.euractiv.com/section/central-asia/kazakhstan/",
        "https://www.euractiv.com:8443/section/central-asia/kazakhstan/",
        "https://www.euractiv.com/section/Central-Asia/kazakhstan/",
        "https://euractiv.com/section/central-asia/kazakhstan/",
        "not a url",
    ],
)
def test_a_different_link_is_no_item_s(clicked: str) -> None:
    """Another query parameter, scheme, port, path case or host is another page: the
    click is not the item's."""
    assert attribute([clicked], item_positions([ITEM])) == {clicked: None}


def test_an_item_s_own_query_is_kept_and_its_utm_parameters_are_not_needed() -> None:
    """An item link with its own query (`id=42`) matches only that query; an editor's own
    utm_* parameters on the item link do not stop a click without them matching."""
    positions = item_positions(
        ["http://news.example.net/story?id=42&lang=en", "https://e.example/a?utm_source=digest"]
    )
    found = attribute(
        [
            "http://news.example.net/story?id=42&lang=en&utm_campaign=c",
            "http://news.example.net/story?id=43&lang=en",
            "https://e.example/a",
        ],
        positions,
    )
    assert list(found.values()) == [1, None, 2]


def test_two_items_with_one_link_give_the_clicks_to_the_first() -> None:
    """A click cannot tell two items with the same link apart: the first one has them."""
    assert item_positions([ITEM, ITEM + "#again"]) == {normalise(ITEM): 1}


@given(st.text(max_size=80))
def test_normalising_is_stable(text: str) -> None:
    """Any text, URL or not, normalises without an error, and a normalised link
    normalises to itself (so stored and clicked links meet in one form)."""
    once = normalise(text)
    assert normalise(once) == once
