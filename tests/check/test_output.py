"""The rules over the rendered email: each with an output that fails it and one that passes.

Failing outputs are the clean fixture's real HTML and text with one thing removed or
added, as a changed template would make them; one test breaks a real template."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from newsletter.check import check_issue
from newsletter.render import RenderedIssue
from tests.check.support import (
    CLEAN,
    check_data,
    clean_data,
    found,
    project_config,
    rendered_clean,
    rules_on,
)
from tests.conftest import REPO


@pytest.fixture(scope="module")
def rendered() -> RenderedIssue:
    return rendered_clean()


def test_the_clean_output_passes(rendered: RenderedIssue) -> None:
    """The passing baseline of every output rule: the clean fixture as rendered."""
    assert rules_on(rendered) == set()


def test_html_over_the_clip_limit_blocks_and_near_it_warns(tmp_path: Path) -> None:
    """Over rendering.clip_size_bytes blocks (Gmail clips, hiding the unsubscribe link);
    over rendering.warn_size_bytes warns; under both passes."""
    size = rendered_clean().html_size
    clipped = project_config(rendering={"clip_size_bytes": size - 1, "warn_size_bytes": size - 2})
    near = project_config(rendering={"clip_size_bytes": size + 1, "warn_size_bytes": size - 1})
    fits = project_config(rendering={"clip_size_bytes": size, "warn_size_bytes": size})
    assert found(check_data(clean_data(), tmp_path, clipped)) == {("blocking", "html-clipped", "")}
    assert found(check_data(clean_data(), tmp_path, near)) == {("warning", "html-large", "")}
    assert found(check_data(clean_data(), tmp_path, fits)) == set()


@pytest.mark.parametrize(
    "img",
    [
        '<img src="https://astanatimes.com/logo.png">',
        '<img src="https://astanatimes.com/l.png" alt=" ">',
    ],
)
def test_an_image_without_alt_text_blocks(rendered: RenderedIssue, img: str) -> None:
    """An <img> with no alt, or a blank one, blocks; a decorative one (role=presentation,
    alt="") passes."""
    html = rendered.html.replace("<body", f"<body>{img}<span", 1)
    assert ("blocking", "image-alt", "") in rules_on(rendered, html=html)
    decorative = '<img src="https://astanatimes.com/rule.png" alt="" role="presentation">'
    assert (
        rules_on(rendered, html=rendered.html.replace("<body", f"<body>{decorative}<span", 1))
        == set()
    )


def test_a_hero_alt_of_invisible_characters_blocks_at_hero_alt(tmp_path: Path) -> None:
    """A zero-width space passes the schema's "not empty" but says nothing to a screen
    reader: blocking at `hero.alt`."""
    data = clean_data()
    data["hero"]["alt"] = "\u200b"
    assert ("blocking", "image-alt", "hero.alt") in found(check_data(data, tmp_path))


@pytest.mark.parametrize("character", ["\u0301", "\u00ad", "\u200e", "\u2060"])
def test_an_alt_text_the_renderer_garbles_blocks(tmp_path: Path, character: str) -> None:
    """mjml-python writes a combining accent, a soft hyphen or a direction mark in an
    attribute as `\\u{301}`: a reader would see that, so it blocks at `hero.alt`."""
    data = clean_data()
    data["hero"]["alt"] = f"Almaty{character} at dusk"
    report = check_data(data, tmp_path)
    assert ("blocking", "image-alt", "hero.alt") in found(report)
    assert "\\u{" in report.blocking[0].message


@pytest.mark.parametrize("replacement", ["<html", '<html lang=""', '<html lang="und"'])
def test_html_without_lang_blocks(rendered: RenderedIssue, replacement: str) -> None:
    """No lang attribute on <html>, an empty one, or "und" (undetermined) blocks."""
    html = re.sub(r'<html lang="[^"]*"', replacement, rendered.html, count=1)
    assert html != rendered.html
    assert rules_on(rendered, html=html) == {("blocking", "lang", "")}


def test_a_template_without_lang_blocks_end_to_end(tmp_path: Path) -> None:
    """The same through a real template: <mjml> without lang renders <html lang="und">."""
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    source = templates / "email.mjml.j2"
    text = source.read_text(encoding="utf-8")
    source.write_text(text.replace('lang="{{ publication.language }}" ', ""), encoding="utf-8")
    config = project_config(paths={"templates": str(templates)})
    report = check_issue(config, CLEAN, tools=False)
    assert ("blocking", "lang", "") in found(report)


def test_missing_unsubscribe_links_block(rendered: RenderedIssue) -> None:
    """No unsubscribe link in the HTML, or none in the text, blocks (one finding each)."""
    marker = rendered.placeholders["unsubscribe_url"]
    html = rendered.html.replace(marker, "https://astanatimes.com/")
    text = rendered.text.replace(marker, "")
    assert rules_on(rendered, html=html) == {("blocking", "unsubscribe", "")}
    assert rules_on(rendered, text=text) == {("blocking", "unsubscribe", "")}


def test_a_missing_postal_address_blocks(rendered: RenderedIssue, tmp_path: Path) -> None:
    """The footer must show publication.postal_address in both parts; an empty one in
    config.yaml blocks too."""
    address = "12 Dostyk Street"
    assert address in rendered.html and address in rendered.text
    html = rendered.html.replace(address, "")
    assert rules_on(rendered, html=html) == {("blocking", "postal-address", "")}
    assert rules_on(rendered, text=rendered.text.replace(address, "")) == {
        ("blocking", "postal-address", "")
    }
    config = project_config(publication={"postal_address": " "})
    assert ("blocking", "postal-address", "") in found(check_data(clean_data(), tmp_path, config))


def test_an_empty_text_part_blocks(rendered: RenderedIssue) -> None:
    """A text part of blank lines blocks (and says nothing more about it)."""
    assert ("blocking", "text-empty", "") in rules_on(rendered, text="\n \n")


def test_a_text_part_missing_a_headline_blocks_at_the_item(rendered: RenderedIssue) -> None:
    """Each item's headline must be in the text part (wrapping ignored): a missing one
    blocks at `items[i].headline`."""
    headline = "Kazakhstan reimagines Soviet-era space launch sites as tourist getaways"
    text = re.sub(r"2\. Kazakhstan reimagines[^\n]*\n[^\n]*", "2.", rendered.text)
    assert headline not in " ".join(text.split())
    assert rules_on(rendered, text=text) == {("blocking", "text-headline", "items[1].headline")}


def test_an_unresolved_template_marker_blocks(rendered: RenderedIssue) -> None:
    """A delivery marker other than the unsubscribe link, or template syntax the
    templates left in the output, blocks; the digest's own text is reported at its path
    by the placeholder rule, not twice."""
    stray = "https://view-url.invalid/0123456789abcdef01234567"
    assert rules_on(rendered, html=rendered.html.replace("</body>", f"{stray}</body>")) == {
        ("blocking", "placeholder", "")
    }
    assert rules_on(rendered, text=rendered.text + "{{ sender.name }}\n") == {
        ("blocking", "placeholder", "")
    }
