"""An imported digest cannot be approved or sent before an editor has reviewed it."""

from __future__ import annotations

from pathlib import Path

from newsletter.check import check_issue
from tests.check.support import project_config
from tests.importer.test_variants import INTRO, digest_text, imported


def test_the_check_blocks_the_placeholders_an_import_leaves(tmp_path: Path) -> None:
    """A text without a title line and with an item whose outlet cannot be read imports
    into a valid digest holding `[title needed]` and `[outlet needed]`; the pre-send
    check blocks both at their JSON paths, so `approve` and `send` refuse it until the
    editor fills them in."""
    text = digest_text(
        ("Kazakhstan expands its transit role", "Ports on the Caspian grew again this year."),
        head=(INTRO,),
    )
    result = imported(text)
    assert result.digest.title == "[title needed]"
    assert result.digest.items[0].outlet == "[outlet needed]"
    path = tmp_path / "imported.json"
    path.write_text(result.json_text(), encoding="utf-8")
    report = check_issue(project_config(), path, tools=False)
    blocked = {(f.rule, f.path) for f in report.blocking}
    assert {("placeholder", "title"), ("placeholder", "items[0].outlet")} <= blocked
