"""The rules over what editors write: each with a digest that fails it and one that passes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from newsletter.check.content import words
from tests.check.support import check_data, clean_data, found


def text_of(length: int) -> str:
    """Readable text of exactly `length` characters (no long run of one letter, which
    the leak scan could take for another test's secret)."""
    return ("Kazakhstan in the foreign press this week. " * 10)[:length]


def test_the_clean_fixture_has_no_finding(tmp_path: Path) -> None:
    """The passing baseline: the clean digest gives no finding at all, exit 0."""
    report = check_data(clean_data(), tmp_path)
    assert report.findings == ()
    assert report.exit_code == 0
    assert report.skipped  # the tools were off, and the report says so


@pytest.mark.parametrize(
    "text",
    [
        "Dear {{ first_name }}, read on.",
        "Dear {{ first_name, read on.",
        "Totals {% if x %}",
        "Hello *|FNAME|*",
        "Hello %%name%%",
        "See [[link]] here.",
        "[insert quote from the minister]",
        "[TK] figures",
        "TODO: check the figure",
        "FIXME",
        "TKTK million",
        "Lorem ipsum dolor sit amet.",
    ],
)
def test_an_unresolved_placeholder_blocks_at_its_path(tmp_path: Path, text: str) -> None:
    """A template tag, merge tag, bracketed or editor's placeholder in any text blocks,
    with the JSON path of the paragraph that holds it."""
    data = clean_data()
    data["items"][1]["summary"] = ["A first paragraph.", text]
    report = check_data(data, tmp_path)
    assert ("blocking", "placeholder", "items[1].summary[1]") in found(report)
    assert report.exit_code == 11


@pytest.mark.parametrize(
    "text",
    ["Super Bowl XXX and the TK flight code", "Use {braces} and [brackets]", "todo list", "100%"],
)
def test_text_that_only_looks_like_a_placeholder_passes(tmp_path: Path, text: str) -> None:
    """Roman numerals, airline codes, single braces, lower-case words: no finding."""
    data = clean_data()
    data["items"][0]["summary"] = text
    assert check_data(data, tmp_path).findings == ()


def test_an_invisible_subject_blocks(tmp_path: Path) -> None:
    """A subject of zero-width spaces passes the schema but is empty to a reader."""
    data = clean_data()
    data["subject"] = "\u200b\u200b"
    assert ("blocking", "subject-empty", "subject") in found(check_data(data, tmp_path))


def test_a_title_over_200_characters_without_subject_blocks(tmp_path: Path) -> None:
    """The title may run to 300 characters and becomes the subject when none is set: over
    200 blocks, at `title`, and the message says the title is used."""
    data = clean_data()
    del data["subject"]
    data["title"] = text_of(254)
    report = check_data(data, tmp_path)
    assert ("blocking", "subject-too-long", "title") in found(report)
    assert "title is used" in report.blocking[0].message


@pytest.mark.parametrize(("length", "expected"), [(78, False), (79, True), (200, True)])
def test_a_subject_over_78_characters_warns(tmp_path: Path, length: int, expected: bool) -> None:
    """79 to 200 characters warn (phones show about 40–70); 78 passes."""
    data = clean_data()
    data["subject"] = text_of(length)
    assert (("warning", "subject-long", "subject") in found(check_data(data, tmp_path))) is expected


def test_a_long_title_used_as_subject_warns_and_suggests_subject(tmp_path: Path) -> None:
    """The issue's title is often long: the warning says so and suggests `subject`."""
    data = clean_data()
    del data["subject"]
    data["title"] = (
        "Foreign Media on Kazakhstan’s Role as Rising Middle Power, and Many More Stories"
    )
    report = check_data(data, tmp_path)
    [finding] = report.warnings
    assert (finding.rule, finding.path) == ("subject-long", "title")
    assert "title is used" in finding.message and "`subject`" in finding.fix


@pytest.mark.parametrize(
    ("preheader", "expected"),
    [
        ("Too short", True),
        (39, True),
        (40, False),
        (130, False),
        (131, True),
    ],
)
def test_a_preheader_outside_40_to_130_characters_warns(
    tmp_path: Path, preheader: str | int, expected: bool
) -> None:
    """Inboxes show 40–130 characters: outside that range warns at `preheader`."""
    data = clean_data()
    data["preheader"] = text_of(preheader) if isinstance(preheader, int) else preheader
    warned = ("warning", "preheader-length", "preheader") in found(check_data(data, tmp_path))
    assert warned is expected


def test_an_item_without_url_warns(tmp_path: Path) -> None:
    """An item with no article link warns at its `url` path."""
    data = clean_data()
    del data["items"][1]["url"]
    assert found(check_data(data, tmp_path)) == {("warning", "item-without-url", "items[1].url")}


@pytest.mark.parametrize(
    "second",
    [
        "https://www.euractiv.com/section/central-asia/kazakhstan-china",
        "https://WWW.Euractiv.com/section/central-asia/kazakhstan-china/",
        "https://www.euractiv.com/section/central-asia/kazakhstan-china#comments",
    ],
)
def test_the_same_url_twice_warns_at_the_second(tmp_path: Path, second: str) -> None:
    """Two items linking to one page (host case, a trailing slash or a fragment aside)
    warn at the later item; different pages do not (the clean fixture)."""
    data = clean_data()
    data["items"][1]["url"] = second
    report = check_data(data, tmp_path)
    assert found(report) == {("warning", "duplicate-url", "items[1].url")}
    assert "item 1" in report.warnings[0].message


@pytest.mark.parametrize(
    ("published", "rule"),
    [
        ("2025-09-13", "published-after-issue"),
        ("2025-08-28", "published-long-ago"),
        ("2025-08-29", None),  # 14 days before the issue
        ("2025-09-12", None),  # the issue's own date
    ],
)
def test_published_dates_after_the_issue_or_over_14_days_before_warn(
    tmp_path: Path, published: str, rule: str | None
) -> None:
    """`published` after the issue date, or more than 14 days before it, warns."""
    data = clean_data()
    data["items"][0]["published"] = published
    expected = {("warning", rule, "items[0].published")} if rule else set()
    assert found(check_data(data, tmp_path)) == expected
    assert dt.date.fromisoformat(published)  # a real date, so the schema let it through


def _item_with_words(count: int) -> dict[str, Any]:
    data = clean_data()
    data["items"][0]["summary"] = " ".join(["word"] * (count - 5))
    data["items"][0]["quote"] = {"text": "one two three four five", "cite": "reads the article"}
    return data


@pytest.mark.parametrize(("count", "expected"), [(250, False), (251, True)])
def test_an_item_over_250_words_warns(tmp_path: Path, count: int, expected: bool) -> None:
    """Summary and quote together over 250 words warn at the item's summary."""
    warned = ("warning", "item-long", "items[0].summary") in found(
        check_data(_item_with_words(count), tmp_path)
    )
    assert warned is expected


def test_words_are_counted_in_scripts_without_spaces() -> None:
    """Chinese and Japanese are counted by character, as their word counts are: a long
    Chinese item cannot pass as one word."""
    assert words("hello world") == 2
    assert words("哈萨克斯坦" * 60) == 300
    assert words("Astana 阿斯塔纳") == 5
    assert words("— – ,") == 0
