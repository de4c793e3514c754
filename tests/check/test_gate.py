"""The gate as a whole: the message is built by the sending code, and what it refuses blocks."""

from __future__ import annotations

import shutil
from pathlib import Path

from newsletter.check import check_issue
from tests.check.support import CLEAN, check_data, clean_data, found, project_config
from tests.conftest import REPO


def test_a_message_the_sending_code_refuses_blocks(tmp_path: Path) -> None:
    """A public_base_url with a non-ASCII host cannot carry unsubscribe links (they go
    into List-Unsubscribe unencoded): sending would stop, so the check blocks, with the
    sending code's own message; a punycode host passes."""
    config = project_config(publication={"public_base_url": "https://новости.kz"})
    report = check_data(clean_data(), tmp_path, config)
    assert found(report) == {("blocking", "message", "")}
    assert "punycode" in report.blocking[0].message
    punycode = project_config(publication={"public_base_url": "https://xn--b1amarcd.kz"})
    assert check_data(clean_data(), tmp_path, punycode).findings == ()


def test_a_refusal_a_rule_already_explains_is_not_repeated(tmp_path: Path) -> None:
    """A text template without the unsubscribe link: the rule says so (its finding),
    and the sending code's refusal of the same fault adds no second line."""
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    source = templates / "email.txt.j2"
    text = source.read_text(encoding="utf-8")
    source.write_text(text.replace("{{ placeholders.unsubscribe_url }}", ""), encoding="utf-8")
    config = project_config(paths={"templates": str(templates)})
    assert found(check_issue(config, CLEAN, tools=False)) == {("blocking", "unsubscribe", "")}


def test_the_reader_side_refusal_is_reported_beside_other_findings(tmp_path: Path) -> None:
    """A refused unsubscribe base URL is reported even when something else blocks too,
    so the editor sees both at once."""
    config = project_config(
        publication={"public_base_url": "https://новости.kz", "postal_address": " "}
    )
    assert found(check_data(clean_data(), tmp_path, config)) == {
        ("blocking", "postal-address", ""),
        ("blocking", "message", ""),
    }
