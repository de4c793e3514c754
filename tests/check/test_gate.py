"""The gate as a whole: the message is built by the sending code, and what it refuses blocks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from newsletter.check import check_issue
from newsletter.errors import ConfigError
from tests.check.support import CLEAN, check_data, clean_data, found, project_config
from tests.conftest import REPO


def test_an_unusable_public_url_is_a_configuration_error(tmp_path: Path) -> None:
    """A public_base_url with a non-ASCII host cannot carry unsubscribe links (they go
    into List-Unsubscribe unencoded): the check raises the same ConfigError (4, naming
    the key) as `send` does, because it is the configuration that is wrong, not the
    digest; a punycode host passes."""
    config = project_config(publication={"public_base_url": "https://новости.kz"})
    with pytest.raises(ConfigError, match=r"publication\.public_base_url: .*non-ASCII"):
        check_data(clean_data(), tmp_path, config)
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
