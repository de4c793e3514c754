"""Made-up texts in the house format: each phrasing of outlet and date, no date line, a
quote over three paragraphs, two quotes in one item, a question for a headline, and what
the importer must flag rather than guess."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from newsletter.errors import EXIT_IMPORT, ImportTextError
from newsletter.importer import ImportedDigest, import_text, placeholder, read_source

INTRO = "ASTANA – The Astana Times has curated a selection of articles from global media."
TITLE = "Foreign Media on Kazakhstan’s Diplomacy, and More"
ISSUE = dt.date(2025, 9, 12)


def digest_text(*items: tuple[str, ...], head: tuple[str, ...] = (TITLE, INTRO)) -> str:
    """A text: the head lines, then each item's headline and paragraphs, a line each."""
    lines = [*head]
    for item in items:
        lines.extend(item)
    return "\n".join(lines) + "\n"


def one_item(*paragraphs: str, headline: str = "Kazakhstan expands its transit role") -> str:
    return digest_text((headline, *paragraphs))


def imported(text: str, issue: dt.date | None = ISSUE) -> ImportedDigest:
    return import_text(text, issue_date=issue, source="made-up.txt")


def notes_of(result: ImportedDigest) -> list[str]:
    return [str(note) for note in result.notes]


@pytest.mark.parametrize(
    ("paragraph", "issue", "outlet", "published"),
    [
        ("Euractiv published an article on Sept. 11 about Kazakhstan’s role.", ISSUE,
         "Euractiv", "2025-09-11"),
        ("Kazakhstan is turning launch sites into a tourism hub, reported Euronews on "
         "Sept. 10.", ISSUE, "Euronews", "2025-09-10"),
        ("According to an article by The Diplomat on Sept. 8, Kazakhstan is a middle power.",
         ISSUE, "The Diplomat", "2025-09-08"),
        ("Le Monde wrote on April 17 that Kazakhstan is investing in railways.",
         dt.date(2025, 4, 18), "Le Monde", "2025-04-17"),
        ("In an article published by Foreign Policy on Feb. 5, the author argues for "
         "engagement.", dt.date(2026, 2, 6), "Foreign Policy", "2026-02-05"),
        ("Pakistan and Kazakhstan agreed on a strategic partnership, Pakistan Today "
         "reported on Feb. 5.", dt.date(2026, 2, 6), "Pakistan Today", "2026-02-05"),
        ("Euractiv published an article on Sept 11 about the partnership.", ISSUE,
         "Euractiv", "2025-09-11"),
        ("The Times of Central Asia released an article on September 11 about the Aral Sea.",
         ISSUE, "The Times of Central Asia", "2025-09-11"),
        ("Portugal’s Diário de Notícias newspaper released an article on Jan. 29 about "
         "reforms.", dt.date(2026, 2, 6), "Diário de Notícias", "2026-01-29"),
        ("China is willing to deepen ties, the Vice Premier said on Sept. 2, according to "
         "China’s State Council.", ISSUE, "China’s State Council", "2025-09-02"),
        ("The minister spoke about media cooperation in an April 17 interview with Eurasia "
         "Review.", dt.date(2025, 4, 18), "Eurasia Review", "2025-04-17"),
        ("The Diplomat published an article on Dec. 30 about the year’s reforms.",
         dt.date(2026, 1, 9), "The Diplomat", "2025-12-30"),
        ("Le Figaro published an article on 17 April about the steppe.", dt.date(2025, 4, 18),
         "Le Figaro", "2025-04-17"),
        ("Kazakhstan plans a crypto reserve, as reported by Bloomberg on Sept. 9.", ISSUE,
         "Bloomberg", "2025-09-09"),
        ("An article in Foreign Policy on Sept. 8 argues for engagement.", ISSUE,
         "Foreign Policy", "2025-09-08"),
        ("Reuters wrote on Sept. 9 that exports grew.", ISSUE, "Reuters", "2025-09-09"),
        ("Exports grew, wrote Reuters on Sept. 9.", ISSUE, "Reuters", "2025-09-09"),
        ("Exports grew, Bloomberg reported on Sept. 9, citing sources.", ISSUE, "Bloomberg",
         "2025-09-09"),
        ("The Diplomat also published an interview on Sept. 9, 2025 with the minister.", ISSUE,
         "The Diplomat", "2025-09-09"),
    ],
)  # fmt: skip
def test_each_phrasing_gives_the_outlet_and_the_date(
    paragraph: str, issue: dt.date, outlet: str, published: str
) -> None:
    """Every phrasing of the published issues names the outlet and the date; the year is
    the issue's, and a December article in a January issue is from the year before."""
    result = imported(one_item(paragraph), issue)
    [item] = result.digest.items
    assert (item.outlet, item.published and item.published.isoformat()) == (outlet, published)
    assert [note for note in result.notes if note.where.startswith("item")] == []


def test_a_text_without_a_date_line_needs_the_issue_date() -> None:
    """No date line and no --date: a clear error (exit 13) asking for --date, never a
    date made up from today; with the date given, the digest carries it."""
    text = one_item("Euractiv published an article on Sept. 11 about the partnership.")
    with pytest.raises(ImportTextError, match="no issue date") as caught:
        imported(text, issue=None)
    assert caught.value.exit_code == EXIT_IMPORT == 13
    assert caught.value.hint == "give the issue's date: --date YYYY-MM-DD"
    assert imported(text).digest.date == ISSUE


def test_a_title_line_and_a_date_line_are_read() -> None:
    """`Title` then `26.04.2025` (day first) then the intro: title, date and intro."""
    title = "Foreign Media on Kazakhstan’s Transit Role, and More"
    text = digest_text(
        ("Kazakhstan expands its transit role", "Trend reported on April 25 about ports."),
        head=(title, "26.04.2025", INTRO),
    )
    result = imported(text, issue=None)
    assert (result.digest.title, result.digest.date) == (title, dt.date(2025, 4, 26))
    assert result.digest.intro == [INTRO]
    assert result.digest.items[0].published == dt.date(2025, 4, 25)
    assert notes_of(result) == []


def test_a_date_given_over_a_date_line_is_used_and_flagged() -> None:
    """--date wins over the text's date line, and the difference is a note."""
    text = digest_text(
        ("A headline", "Trend reported on April 25 about ports."), head=("26.04.2025", INTRO)
    )
    result = imported(text, issue=dt.date(2025, 4, 27))
    assert result.digest.date == dt.date(2025, 4, 27)
    assert (
        "date: --date 2025-04-27 differs from the text’s date line “26.04.2025”"
        in (notes_of(result)[0])
    )


def test_a_quote_spanning_three_paragraphs() -> None:
    """A quotation opened in one paragraph and closed two paragraphs later, with its
    attribution: three quote paragraphs without marks, the comma before the attribution
    dropped, and the summary paragraph after it kept in the summary."""
    result = imported(
        one_item(
            "Euractiv published an article on Sept. 11 about the partnership.",
            "“First paragraph of the quote.",
            "Second paragraph, with an inner “phrase” in it.",
            "Third and last paragraph,” reads the article.",
            "The author also notes the growing trade.",
        )
    )
    [item] = result.digest.items
    assert item.quote is not None
    assert item.quote.text == [
        "First paragraph of the quote.",
        "Second paragraph, with an inner “phrase” in it.",
        "Third and last paragraph",
    ]
    assert item.quote.cite == "reads the article"
    assert item.summary == [
        "Euractiv published an article on Sept. 11 about the partnership.",
        "The author also notes the growing trade.",
    ]
    assert notes_of(result) == []


def test_each_paragraph_of_a_quote_may_reopen_the_mark() -> None:
    """English style opens each paragraph of a long quotation again: those marks go."""
    [item] = imported(
        one_item(
            "Euractiv published an article on Sept. 11 about the partnership.",
            "“One.",
            "“Two,” said Karabayev.",
        )
    ).digest.items
    assert item.quote is not None
    assert (item.quote.text, item.quote.cite) == (["One.", "Two"], "said Karabayev")


def test_an_item_with_two_quotes_keeps_the_second_in_the_summary_and_flags_it() -> None:
    """The format holds one quote: the first is it, the second stays in the summary as
    written (nothing is dropped), and the editor is told."""
    result = imported(
        one_item(
            "Euractiv published an article on Sept. 11 about the partnership.",
            "“The first quotation,” reads the article.",
            "Another paragraph of summary.",
            "“The second quotation,” said Karabayev.",
        )
    )
    [item] = result.digest.items
    assert item.quote is not None
    assert (item.quote.text, item.quote.cite) == (["The first quotation"], "reads the article")
    assert item.summary[-1] == "“The second quotation,” said Karabayev."
    assert notes_of(result) == [
        "item 1 (Kazakhstan expands its transit role): 2 quotations; the format holds one: "
        "the first is the quote, the others are kept in the summary as written"
    ]


def test_a_headline_that_ends_with_a_question_mark() -> None:
    """A question is a headline (no final full stop): two items, not one."""
    result = imported(
        digest_text(
            ("Is Kazakhstan the next transit hub?", "Trend reported on Sept. 4 about cargo."),
            ("Kazakhstan sees record water recovery", "Euronews reported on Sept. 9 about it."),
        )
    )
    assert [item.headline for item in result.digest.items] == [
        "Is Kazakhstan the next transit hub?",
        "Kazakhstan sees record water recovery",
    ]
    assert [item.outlet for item in result.digest.items] == ["Trend", "Euronews"]


def test_blank_lines_between_paragraphs_change_nothing() -> None:
    """With or without blank lines between the paragraphs, the same digest."""
    text = digest_text(
        ("Is Kazakhstan the next transit hub?", "Trend reported on Sept. 4 about cargo."),
        ("Water recovery", "Euronews reported on Sept. 9.", "“Quoted,” reads the article."),
    )
    spaced = text.replace("\n", "\n\n\n")
    assert imported(spaced).digest == imported(text).digest


def test_a_quote_inside_a_summary_sentence_stays_in_the_summary() -> None:
    """Only a paragraph that opens with a quotation mark is a quote; one that opens with
    it but goes on after the attribution is a summary sentence too."""
    inside = "The President stressed “modern realities” beyond the digital tenge."
    goes_on = "“Yes,” he said, adding that the reform would continue for years."
    [item] = imported(
        one_item("Crypto News reported on Sept. 10 about reserves.", inside, goes_on)
    ).digest.items
    assert item.quote is None
    assert item.summary[1:] == [inside, goes_on]


def test_no_recognisable_outlet_is_a_placeholder_and_a_note() -> None:
    """A first paragraph that names no outlet in any known phrasing: the outlet is the
    visible placeholder, never a guess, and the note says which item and why."""
    result = imported(one_item("Kazakhstan is investing in roads and railways this year."))
    [item] = result.digest.items
    assert item.outlet == placeholder("outlet") == "[outlet needed]"
    assert item.published is None
    assert any("no outlet found in the first paragraph" in note for note in notes_of(result))
    assert any("no date in the first paragraph" in note for note in notes_of(result))


def test_several_dates_in_the_first_paragraph_are_not_chosen_from() -> None:
    """Two dates and no phrasing tying one to the outlet: published is left out, flagged."""
    result = imported(
        one_item("The forum ran from Sept. 3 to Sept. 5 in Astana, according to Trend.")
    )
    [item] = result.digest.items
    assert (item.outlet, item.published) == ("Trend", None)
    assert "several dates in the first paragraph (“Sept. 3”, “Sept. 5”)" in notes_of(result)[0]


def test_a_date_after_the_issue_is_flagged_and_an_impossible_one_left_out() -> None:
    """Sept. 13 in an issue of Sept. 12 is kept but flagged; Sept. 31 does not exist."""
    later = imported(one_item("Euractiv published an article on Sept. 13 about it."))
    assert later.digest.items[0].published == dt.date(2025, 9, 13)
    assert "after the issue date 2025-09-12" in notes_of(later)[0]
    impossible = imported(one_item("Euractiv published an article on Sept. 31 about it."))
    assert impossible.digest.items[0].published is None
    assert "“Sept. 31” is not a real date" in notes_of(impossible)[0]


def test_quotes_without_attribution_or_closing_mark_are_flagged() -> None:
    """A quotation closed with nothing after it has no attribution; one never closed
    runs to the end of its item; both are flagged, neither is given a made-up cite."""
    unattributed = imported(
        one_item("Euractiv published an article on Sept. 11.", "“It is possible.”")
    )
    quote = unattributed.digest.items[0].quote
    assert quote is not None and (quote.text, quote.cite) == (["It is possible."], None)
    assert "quotation without attribution" in notes_of(unattributed)[0]
    unclosed = imported(
        one_item("Euractiv published an article on Sept. 11.", "“It is possible.", "And more.")
    )
    quote = unclosed.digest.items[0].quote
    assert quote is not None and (quote.text, quote.cite) == (
        ["It is possible.", "And more."],
        None,
    )
    assert "its closing mark never comes" in notes_of(unclosed)[0]


def test_typography_is_kept_and_whitespace_normalised() -> None:
    """Typographic quotes, dashes and non-breaking spaces stay exactly; tabs and runs of
    spaces become one space."""
    paragraph = (
        "Euractiv published an article on Sept.\u00a011 about the “middle power” — a\u00a0role."
    )
    [item] = imported(
        one_item(paragraph.replace(" about", "\t  about"), headline="Kazakhstan’s  role – now")
    ).digest.items
    assert item.summary == [paragraph]
    assert item.headline == "Kazakhstan’s role – now"
    assert item.published == dt.date(2025, 9, 11)


def test_photo_line_without_caption_and_a_missing_intro_and_title() -> None:
    """`Photo credit: Shutterstock` alone is a credit without caption; a text that starts
    with its first item has no intro: a placeholder, flagged, like the missing title."""
    result = imported(
        digest_text(
            ("Photo credit: Shutterstock.",),
            ("Kazakhstan expands its transit role", "Trend reported on Sept. 4 about ports."),
            head=(),
        )
    )
    assert result.digest.hero is not None
    assert (result.digest.hero.caption, result.digest.hero.credit) == (None, "Shutterstock")
    assert result.digest.intro == [placeholder("intro")]
    assert {note.where for note in result.notes} == {"title", "intro"}


def test_a_control_character_is_a_clear_error_with_its_line() -> None:
    """A control character cannot go into a digest: the error names the line."""
    with pytest.raises(ImportTextError, match=r"made-up.txt: line 4: control character U\+0007"):
        imported(one_item("Trend reported on Sept. 4 about\x07 ports."))


def test_more_items_than_the_format_holds_is_a_clear_error() -> None:
    """31 items: refused with the count, not cut silently."""
    items = [(f"Headline {n}", f"Trend reported on Sept. 4 about {n}.") for n in range(31)]
    with pytest.raises(ImportTextError, match="31 items; a digest holds at most 30"):
        imported(digest_text(*items))


def test_a_text_without_items_is_a_clear_error() -> None:
    """Only paragraphs: there is no item to make."""
    with pytest.raises(ImportTextError, match="no item found"):
        imported(INTRO + "\nAnother paragraph of intro.\n")


def test_a_file_not_in_utf8_is_a_clear_error(tmp_path: Path) -> None:
    """Latin-1 bytes: the error names the byte and its offset."""
    path = tmp_path / "digest.txt"
    path.write_bytes("Caf\xe9".encode("latin-1"))
    with pytest.raises(ImportTextError, match=r"not UTF-8 \(invalid byte 0xe9 at offset 3\)"):
        read_source(path)


def test_html_with_br_lines_and_a_h1_title() -> None:
    """An HTML fragment: <h1> is the title, <br> ends a paragraph, <h3> starts an item,
    text in <blockquote> is the quote even without marks (then without attribution)."""
    page = (
        "<h1>Foreign Media on Kazakhstan</h1><p>12.09.2025<br>ASTANA &ndash; Intro.</p>"
        "<h3>Transit role</h3><p>Trend reported on Sept. 4 about ports.</p>"
        "<blockquote><p>Cargo grew sixfold.</p></blockquote>"
    )
    result = imported(page, issue=None)
    assert result.html
    assert (result.digest.title, result.digest.date) == ("Foreign Media on Kazakhstan", ISSUE)
    assert result.digest.intro == ["ASTANA – Intro."]
    [item] = result.digest.items
    assert item.quote is not None and item.quote.text == ["Cargo grew sixfold."]
    assert "quotation without attribution" in notes_of(result)[0]


def test_a_paragraph_longer_than_the_format_holds_is_refused_before_reading_it() -> None:
    """A paragraph over 5,000 characters (the format's limit) is named by its line and
    refused at once, before any search through it."""
    long = "Trend reported on Sept. 4 about ports, " * 200
    with pytest.raises(ImportTextError, match=r"line 4: a paragraph of 7,799 characters"):
        imported(one_item(long))


def test_html_without_headings_reads_headlines_as_plain_text_does() -> None:
    """A page whose headlines are bold paragraphs (no <h2>–<h6>): headline-like
    paragraphs start items, as lines do in plain text; list items are paragraphs."""
    page = (
        "<div><p>12.09.2025</p><p>ASTANA &ndash; Intro.</p>"
        "<p><strong>Is Kazakhstan the next transit hub?</strong></p>"
        "<p>Trend reported on Sept. 4 about cargo.</p><ul><li>Ports grew.</li></ul>"
        "<p><b>Water recovery</b></p><p>Euronews reported on Sept. 9.</p></div>"
    )
    result = imported(page, issue=None)
    assert [(item.headline, item.outlet) for item in result.digest.items] == [
        ("Is Kazakhstan the next transit hub?", "Trend"),
        ("Water recovery", "Euronews"),
    ]
    assert result.digest.items[0].summary[1] == "Ports grew."
