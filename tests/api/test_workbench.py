"""The workbench's state behind `preview --web`: re-rendering on change, errors in place of
the email and recovery, the preview button's outcome, and the page it renders."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.api import Workbench
from tests.web.workbench_support import (
    HEADLINE,
    edit_headline,
    outbox_previews,
    workbench_project,
)


@pytest.fixture
def bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workbench:
    api, digest = workbench_project(tmp_path, monkeypatch)
    return api.workbench(digest)


def test_an_unchanged_digest_is_not_rendered_again(bench: Workbench) -> None:
    """Polling finds nothing changed: the version stays, the same view is kept."""
    first = bench.view()
    assert bench.refresh() == first.version == bench.refresh()
    assert bench.view() is first
    assert first.valid and HEADLINE in (first.text or "")


def test_saving_the_digest_re_renders_it(bench: Workbench) -> None:
    """A saved edit is seen by the next poll: a new version with the new headline in the
    text, the HTML and the item list."""
    before = bench.version
    edit_headline(bench.path, "Astana hosts the Central Asia–EU summit")
    assert bench.refresh() == before + 1
    view = bench.view()
    assert "Astana hosts the Central Asia–EU summit" in (view.text or "")
    assert "Astana hosts the Central Asia–EU summit" in (view.html or "")
    assert view.items[0] == (0, "Astana hosts the Central Asia–EU summit")


def test_a_broken_digest_shows_its_errors_and_recovers(bench: Workbench) -> None:
    """Broken JSON, then a rule broken: the view holds the errors (with line and column,
    with the JSON path) and no email; fixed, the email is back."""
    good = bench.path.read_text(encoding="utf-8")
    bench.path.write_text(good[:-20], encoding="utf-8")
    broken = bench.view()
    assert not broken.valid and broken.html is None
    assert any("not valid JSON at line" in line for line in broken.errors)
    bench.path.write_text(good, encoding="utf-8")
    edit_headline(bench.path, "")  # valid JSON, an empty headline
    (invalid,) = [line for line in bench.view().errors if "items[0].headline" in line]
    assert str(bench.path) in invalid
    bench.path.write_text(good, encoding="utf-8")
    assert bench.view().valid and HEADLINE in (bench.view().text or "")


def test_a_missing_digest_file_is_an_error_in_the_page(bench: Workbench) -> None:
    """The file deleted (an editor renaming it): the page says so instead of failing."""
    bench.path.unlink()
    view = bench.view()
    assert not view.valid and view.errors
    assert "This digest cannot be rendered" in bench.page()


def test_saving_a_template_re_renders(bench: Workbench) -> None:
    """A template under paths.templates changed: the next poll renders with it."""
    template = bench.config.templates_dir / "email.txt.j2"
    template.write_text(
        template.read_text(encoding="utf-8") + "\nEdited in the workbench test\n", "utf-8"
    )
    version = bench.version
    assert bench.refresh() == version + 1
    assert "Edited in the workbench test" in (bench.view().text or "")


def test_the_preview_button_sends_through_the_preview_path(
    bench: Workbench, tmp_path: Path
) -> None:
    """send_preview sends the [PREVIEW] message to the editors list through the configured
    transport (the outbox) and says so in the page's notice."""
    assert bench.send_preview()
    (message,) = outbox_previews(tmp_path)
    assert b"[PREVIEW]" in message and b"ed@example.com" in message
    view = bench.view()
    assert view.notice == "Sent a [PREVIEW] to ed@example.com." and not view.notice_failed
    assert "Sent a [PREVIEW] to ed@example.com." in bench.page()


def test_a_preview_of_a_broken_digest_is_refused_in_the_notice(
    bench: Workbench, tmp_path: Path
) -> None:
    """The digest does not validate: nothing is sent, and the notice says why."""
    bench.path.write_text("{", encoding="utf-8")
    assert not bench.send_preview()
    assert outbox_previews(tmp_path) == []
    view = bench.view()
    assert view.notice_failed and (view.notice or "").startswith("Not sent: ")
    assert "not valid JSON" in (view.notice or "")


def test_the_form_token_is_this_workbench_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each workbench has its own random token; only it is accepted."""
    api, digest = workbench_project(tmp_path, monkeypatch)
    one, two = api.workbench(digest), api.workbench(digest)
    assert one.token != two.token and len(one.token) >= 32
    assert one.token_matches(one.token)
    assert not one.token_matches(two.token) and not one.token_matches("")


def test_the_page_carries_the_email_escaped_in_its_frames(bench: Workbench) -> None:
    """The email goes into four sandboxed `srcdoc` frames, attribute-escaped (no raw `"`
    or `<` of the email in the page's markup); the size against the clipping limit."""
    page = bench.page()
    assert page.count("<iframe ") == 4 and page.count('sandbox="allow-same-origin ') == 4
    assert 'srcdoc="&lt;!doctype html&gt;' in page.lower().replace("&#34;", '"')
    view = bench.view()
    assert f"{view.html_size / 1000:.1f} KB" in page and "102 KB clipping limit" in page
    assert bench.token in page
