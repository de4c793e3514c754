"""The rendered email: structure, accessibility, survival of inlining, offline, size."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from newsletter.config import Config, Publication, Rendering
from newsletter.digest import load_digest, parse_digest
from newsletter.errors import RenderError
from newsletter.render import RenderedIssue, render_issue
from tests.conftest import SAMPLE_DIGESTS


class Tags(HTMLParser):
    """Collects (tag, attrs) pairs to assert on the HTML structure."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def all(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.tags if tag == name]


def tags_of(html: str) -> Tags:
    parser = Tags()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def sample() -> RenderedIssue:
    from newsletter.config import load_config
    from tests.conftest import REPO

    return render_issue(
        load_digest(REPO / "digests/2025-09-12.json"), load_config(REPO / "config.yaml")
    )


def test_html_document_basics(sample: RenderedIssue) -> None:
    """<html lang>, a <title> with the subject, and an upper-case doctype kept by premailer."""
    assert sample.html.startswith("<!DOCTYPE html>")
    assert re.search(r'<html[^>]* lang="en"', sample.html)
    assert f"<title>{sample.subject}</title>" in sample.html


def test_preheader_is_hidden_and_not_low_contrast(sample: RenderedIssue) -> None:
    """The preheader is the first body text, hidden, and not white-on-white (spam filters)."""
    match = re.search(r'<div\s+class="preheader"\s+style="([^"]*)">([^<]*)</div>', sample.html)
    assert match, "preheader missing"
    style, text = match.groups()
    assert "display:none" in style and "color" not in style
    assert text.startswith(sample.digest.email_preheader)


def test_every_image_has_alt_text(sample: RenderedIssue) -> None:
    """Screen readers and image-blocking clients get a description of every image."""
    images = tags_of(sample.html).all("img")
    assert images, "the sample has a hero image"
    assert all(attrs.get("alt") for attrs in images)
    assert images[0]["alt"] == sample.digest.hero.alt  # type: ignore[union-attr]


def test_each_item_shows_outlet_date_and_quote(sample: RenderedIssue) -> None:
    """Every item has its headline, outlet and date; quotes are blockquotes with attribution."""
    for item in sample.digest.items:
        assert re.search(f"<h2[^>]*>{re.escape(item.headline)}</h2>", sample.html)
        assert item.outlet in sample.html
        if item.published:
            assert f"{item.published.day} {item.published:%B %Y}" in sample.html
    quoted = [item for item in sample.digest.items if item.quote]
    assert sample.html.count("<blockquote") == len(quoted)
    cites = [item.quote.cite for item in quoted if item.quote and item.quote.cite]
    for cite in cites:
        assert f"— {cite}</p>" in sample.html


def test_read_at_link_only_with_url(make_digest: Any, config: Config) -> None:
    """'Read at {outlet}' links to the article when url is given, and is absent otherwise."""
    issue = render_issue(make_digest(), config)
    assert 'href="https://www.euractiv.com/section/central-asia/kazakhstan"' in issue.html
    assert "Read at Euractiv →" in issue.html
    data = json.loads(json.dumps(make_digest().model_dump(mode="json")))
    del data["items"][0]["url"]
    no_url = render_issue(parse_digest(json.dumps(data)), config)
    assert "Read at" not in no_url.html and "Read at" not in no_url.text


def test_footer_has_address_and_unsubscribe_placeholder(sample: RenderedIssue) -> None:
    """The footer names the publication, its postal address and an unsubscribe link."""
    publication_line = "The Astana Times · Astana Times LLP, 12 Dostyk Street"
    assert publication_line in sample.html
    marker = sample.placeholders["unsubscribe_url"]
    assert marker.startswith("https://unsubscribe-url.invalid/")
    assert f'href="{marker}"' in sample.html
    assert f"Unsubscribe: {marker}" in sample.text


def test_placeholder_cannot_be_forged_by_content(make_digest: Any, config: Config) -> None:
    """The unsubscribe marker depends on the digest content, so text cannot contain it."""
    first = render_issue(make_digest(), config)
    forged = make_digest(title=first.placeholders["unsubscribe_url"])
    assert render_issue(forged, config).placeholders != first.placeholders


def test_view_in_browser_only_with_public_url(make_digest: Any, config: Config) -> None:
    """A 'view in browser' link appears when a public base URL is configured."""
    private = config.model_copy(update={"publication": Publication(public_base_url=None)})
    assert "View this email in your browser" not in render_issue(make_digest(), private).html
    public = config.model_copy(
        update={"publication": Publication(public_base_url="https://news.example.com/")}
    )
    issue = render_issue(make_digest(), public)
    assert 'href="https://news.example.com/archive/2025-09-12/"' in issue.html
    assert "View in your browser: https://news.example.com/archive/2025-09-12/" in issue.text


def test_mobile_and_dark_mode_rules_survive_inlining(sample: RenderedIssue) -> None:
    """@media rules stay in <style> with !important, classes stay on elements."""
    styles = "".join(re.findall(r"<style[^>]*>(.*?)</style>", sample.html, re.S))
    assert "@media (prefers-color-scheme: dark)" in styles
    assert re.search(r"@media only screen and \(max-width: ?480px\)", styles)
    assert "!important" in styles
    assert re.search(r'<meta\s+name="color-scheme"\s+content="light dark"', sample.html)
    assert 'class="dm-card' in sample.html and 'class="t' in sample.html


def test_css_is_inlined_and_attributes_kept(sample: RenderedIssue) -> None:
    """Heading styles are inlined; <img width> keeps its pixel value for Outlook."""
    assert re.search(r'<h1\s+style="[^"]*font-size:28px', sample.html)
    assert re.search(r'<img\s[^>]*width="600"', sample.html)


def test_rendering_makes_no_network_access(
    no_network: list[Any], make_digest: Any, config: Config
) -> None:
    """Neither MJML compilation nor CSS inlining touches the network."""
    render_issue(make_digest(), config)
    assert no_network == []


def test_no_web_fonts_linked(sample: RenderedIssue) -> None:
    """No Google Fonts (or any) stylesheet link or @import in the output."""
    assert "<link" not in sample.html and "@import" not in sample.html


@pytest.mark.parametrize("path", SAMPLE_DIGESTS, ids=lambda p: p.name)
def test_samples_are_well_under_gmail_clipping(path: Path, config: Config) -> None:
    """Each sample's HTML is under 70 KB, far below Gmail's 102 KB clipping."""
    issue = render_issue(load_digest(path), config)
    assert issue.html_size < 70_000
    assert issue.warnings == ()


def test_size_warnings(make_digest: Any, config: Config) -> None:
    """Above the warning size a warning is given; above the clip size it says Gmail clips."""
    issue = render_issue(make_digest(), config)
    near = config.model_copy(update={"rendering": Rendering(warn_size_bytes=1000)})
    over = config.model_copy(
        update={"rendering": Rendering(warn_size_bytes=1000, clip_size_bytes=2000)}
    )
    assert "close to Gmail's" in render_issue(make_digest(), near).warnings[0]
    assert "Gmail clips" in render_issue(make_digest(), over).warnings[0]
    assert issue.warnings == ()


WITH_URLS = Path(__file__).resolve().parent.parent / "golden" / "digests" / "with-urls.json"


def test_text_part_lines_fit_78_columns(config: Config) -> None:
    """Every text line is ≤ 78 columns, except a line that is one unbreakable URL."""
    for path in [*SAMPLE_DIGESTS, WITH_URLS]:
        text = render_issue(load_digest(path), config).text
        too_long = [line for line in text.splitlines() if len(line) > 78]
        assert all(re.fullmatch(r"\s*\S+", line) for line in too_long), too_long


def test_text_part_item_lines_are_indented(make_digest: Any, config: Config) -> None:
    """Inside an item every line but the numbered headline is indented, with and without
    an article URL, a quote or a long outlet name (the "Read at" line lost its indent)."""
    digest = load_digest(WITH_URLS)
    text = render_issue(digest, config).text
    sections = text.split("-" * 78 + "\n")[1:-1]  # between the rules: one item each
    assert len(sections) == len(digest.items)
    for item, section in zip(digest.items, sections, strict=True):
        lines = [line for line in section.splitlines() if line][1:]  # after the headline
        unindented = [line for line in lines if not line.startswith("   ")]
        assert unindented == [], unindented
        if item.url:
            assert f"   {item.url}" in lines
            assert any(line.startswith("   Read at ") for line in lines)


def test_text_part_has_every_paragraph(config: Config) -> None:
    """The text twin carries every headline, summary word and quote of the digest."""
    digest = load_digest(SAMPLE_DIGESTS[1])
    text = " ".join(render_issue(digest, config).text.replace(">", " ").split())
    for item in digest.items:
        assert item.headline in text
        for paragraph in item.summary:
            assert " ".join(paragraph.split()) in text
        if item.quote:
            assert item.quote.text[-1].split()[-1] in text


def test_missing_templates_folder(make_digest: Any, config: Config, tmp_path: Path) -> None:
    """A wrong templates path is a RenderError naming the folder."""
    broken = config.model_copy(update={"base_dir": tmp_path})
    with pytest.raises(RenderError, match="templates folder not found"):
        render_issue(make_digest(), broken)


def test_template_typo_fails_loudly(make_digest: Any, config: Config, tmp_path: Path) -> None:
    """An undefined variable in a template is an error, never an empty string."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/email.mjml.j2").write_text("<mjml><mj-body>{{ nope }}</mj-body></mjml>")
    (tmp_path / "templates/email.txt.j2").write_text("x")
    with pytest.raises(RenderError, match="'nope' is undefined"):
        render_issue(make_digest(), config.model_copy(update={"base_dir": tmp_path}))


def test_unparseable_mjml_is_a_render_error(
    make_digest: Any, config: Config, tmp_path: Path
) -> None:
    """mjml-python's bare ValueError becomes a RenderError."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/email.mjml.j2").write_text("<mjml><mj-body><mj-section>")
    (tmp_path / "templates/email.txt.j2").write_text("x")
    with pytest.raises(RenderError, match="MJML could not be compiled"):
        render_issue(make_digest(), config.model_copy(update={"base_dir": tmp_path}))
