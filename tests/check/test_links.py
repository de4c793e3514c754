"""Links: absolute http(s) to a host any reader can reach; the deny list from config.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.check.links import link_problem
from newsletter.config import Check, load_config
from newsletter.errors import ConfigError
from tests.check.support import (
    check_data,
    clean_data,
    found,
    project_config,
    rendered_clean,
    rules_on,
)

DENIED = [
    "http://localhost/x",
    "http://LOCALHOST./x",
    "http://app.localhost/x",
    "https://news.test/a",
    "https://draft.example/a",
    "https://example.com/a",
    "https://www.example.org/a",
    "https://site.invalid/a",
    "https://printer.local/a",
    "https://wiki.corp.internal/a",
    "https://nas.home.arpa/a",
    "http://10.0.0.5/a",
    "http://192.168.1.20:8080/a",
    "http://172.16.3.4/a",
    "http://127.0.0.1/a",
    "http://127.1/a",
    "http://0x7f.0.0.1/a",
    "http://2130706433/a",
    "http://0177.0.0.1/a",
    "http://169.254.169.254/latest",
    "http://100.64.0.1/a",
    "http://0.0.0.0/a",
    "http://[::1]/a",
    "http://[::ffff:127.0.0.1]/a",
    "http://[fe80::1]/a",
    "http://[fd00::1]/a",
]
ALLOWED = [
    "https://www.euractiv.com/a",
    "http://euractiv.com/a",
    "https://example.com.kz/a",
    "https://notexample.com/a",
    "https://testing.kz/a",
    "http://8.8.8.8/a",
    "http://[2001:4860:4860::8888]/a",
]


@pytest.mark.parametrize("url", DENIED)
def test_an_item_link_to_a_denied_host_blocks(tmp_path: Path, url: str) -> None:
    """Reserved names, local names and non-public addresses however written (shorthand,
    hex, octal, decimal, IPv4-mapped IPv6) block at the item's `url`."""
    data = clean_data()
    data["items"][0]["url"] = url
    assert ("blocking", "link", "items[0].url") in found(check_data(data, tmp_path))


@pytest.mark.parametrize("url", ALLOWED)
def test_a_link_to_a_public_host_passes(tmp_path: Path, url: str) -> None:
    """Public names and addresses, and names that merely contain a denied one, pass."""
    data = clean_data()
    data["items"][0]["url"] = url
    assert check_data(data, tmp_path).blocking == ()


def test_a_hero_image_on_a_denied_host_blocks(tmp_path: Path) -> None:
    """The hero image is a link a reader's client fetches: it is checked at `hero.image`."""
    data = clean_data()
    data["hero"]["image"] = "https://staging.test/almaty.jpg"
    assert ("blocking", "link", "hero.image") in found(check_data(data, tmp_path))


def test_the_deny_list_comes_from_config(tmp_path: Path) -> None:
    """check.deny_hosts replaces the defaults: a name covers its subdomains, a network
    its addresses; with deny_private_addresses off a private address passes."""
    config = project_config(
        check={
            "deny_hosts": ["staging.astanatimes.com", "203.0.113.0/24"],
            "deny_private_addresses": False,
        }
    )
    cases = {
        "https://staging.astanatimes.com/a": True,
        "https://preview.staging.astanatimes.com/a": True,
        "https://astanatimes.com/a": False,
        "http://203.0.113.7/a": True,
        "http://10.0.0.5/a": False,
        "https://example.com/a": False,
    }
    for url, denied in cases.items():
        problem = link_problem(url, config.check)
        assert (problem is not None) is denied, (url, problem)


def test_a_template_link_that_is_not_absolute_http_blocks(tmp_path: Path) -> None:
    """Links the templates and config.yaml add are checked too: a public_base_url on a
    reserved host blocks the issue (path "", the fix names config.yaml)."""
    config = project_config(publication={"public_base_url": "https://newsletter.example"})
    report = check_data(clean_data(), tmp_path, config)
    [finding] = report.blocking
    assert (finding.rule, finding.path) == ("link", "")
    assert "config.yaml" in finding.fix


@pytest.mark.parametrize(
    "url", ["#top", "/archive/", "mailto:x@astanatimes.com", "javascript:alert(1)", "https://"]
)
def test_relative_and_non_http_links_are_refused(url: str) -> None:
    """A link in an email must be absolute http(s) with a host."""
    assert link_problem(url, Check()) is not None


@pytest.mark.parametrize("entry", ["exa mple.com", "http://x.com", "*.test", ""])
def test_a_malformed_deny_entry_is_a_config_error(tmp_path: Path, entry: str) -> None:
    """config.yaml names the bad deny_hosts entry (exit 4) instead of matching nothing."""
    path = tmp_path / "config.yaml"
    path.write_text(f"check:\n  deny_hosts: [{entry!r}]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"check\.deny_hosts"):
        load_config(path)


def test_an_image_the_template_adds_from_a_denied_host_blocks() -> None:
    """A logo a template loads from the office network is no image to any reader."""
    rendered = rendered_clean()
    logo = '<img src="http://intranet.local/logo.png" alt="The Astana Times">'
    html = rendered.html.replace("<body", f"<body>{logo}<span", 1)
    assert rules_on(rendered, html=html) == {("blocking", "link", "")}
