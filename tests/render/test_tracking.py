"""Campaign (UTM) parameters on item links: only item links, the URL otherwise intact,
escaped where it lands, and off by default."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.config import Config, Links, Utm, load_config
from newsletter.digest import load_digest, parse_digest
from newsletter.errors import ConfigError
from newsletter.render import render_issue
from newsletter.render.templating import environment
from newsletter.render.tracking import add_parameters, item_links
from tests.conftest import REPO

WITH_URLS = REPO / "tests" / "golden" / "digests" / "with-urls.json"
UTM = Utm(source="astanatimes", medium="email", campaign="weekly-{date}")
PARAMETERS = UTM.parameters(load_digest(WITH_URLS).date)
ADDED = "utm_source=astanatimes&utm_medium=email&utm_campaign=weekly-2025-09-12"


def tracking(config: Config, utm: Utm | None = UTM) -> Config:
    return config.model_copy(update={"links": Links(utm=utm)})


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(REPO / "config.yaml")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.example/x", f"https://a.example/x?{ADDED}"),
        ("https://a.example/x?id=7", f"https://a.example/x?id=7&{ADDED}"),
        ("https://a.example/x?", f"https://a.example/x?{ADDED}"),
        ("https://a.example/x?id=7&", f"https://a.example/x?id=7&{ADDED}"),
        ("https://a.example/x#part", f"https://a.example/x?{ADDED}#part"),
        ("https://a.example/x?a=%2F&b#p?q=1&r", f"https://a.example/x?a=%2F&b&{ADDED}#p?q=1&r"),
        (
            "https://a.example/x?utm_source=outlet&utm_medium=rss",
            "https://a.example/x?utm_source=outlet&utm_medium=rss&utm_campaign=weekly-2025-09-12",
        ),
        (
            "https://a.example/x?utm%5Fsource=o&utm_medium=&utm_campaign",
            "https://a.example/x?utm%5Fsource=o&utm_medium=&utm_campaign",
        ),
    ],
)
def test_parameters_are_appended(url: str, expected: str) -> None:
    """Appended to the query (after a ? or &, never doubling one), before the fragment;
    a parameter the link already has, however spelled, is the editor's and wins."""
    assert add_parameters(url, PARAMETERS) == expected


def test_values_are_percent_encoded() -> None:
    """A configured value with spaces, quotes, & or non-ASCII cannot add a parameter or
    break out of the attribute: it is percent-encoded (UTF-8)."""
    url = add_parameters("https://a.example/", {"utm_source": 'a b"<&c=d>#ü'})
    assert url == "https://a.example/?utm_source=a%20b%22%3C%26c%3Dd%3E%23%C3%BC"


QUERY_TEXT = st.text(alphabet="abcutm_=&%2F5?;+-.", max_size=30)
URLS = st.builds(
    lambda path, query, fragment: f"https://a.example/{path}{query}{fragment}",
    st.text(alphabet="abc/-._~%20", max_size=15),
    st.one_of(st.just(""), QUERY_TEXT.map(lambda q: "?" + q)),
    st.one_of(st.just(""), st.text(alphabet="ab?&=#/", max_size=12).map(lambda f: "#" + f)),
)
NAMES = st.sampled_from(["utm_source", "utm_medium", "utm_campaign", "utm_content", "x"])
PARAMS = st.dictionaries(NAMES, st.text(max_size=8), max_size=4)


@settings(max_examples=200)
@given(URLS, PARAMS)
def test_property_everything_the_editor_wrote_survives(
    url: str, parameters: dict[str, str]
) -> None:
    """For any link and parameters: the result is the link with text inserted before its
    fragment only (the path, the query as written and the fragment survive byte for byte),
    every existing parameter keeps its values, each configured name is then present, and
    adding again changes nothing."""
    result = add_parameters(url, parameters)
    head, mark, fragment = url.partition("#")
    assert result.endswith(mark + fragment)
    new_head = result[: len(result) - len(mark + fragment)]
    assert new_head.startswith(head)
    before = parse_qsl(head.partition("?")[2], keep_blank_values=True)
    after = parse_qsl(new_head.partition("?")[2], keep_blank_values=True)
    assert after[: len(before)] == before
    assert {name for name, _ in after} >= set(parameters)
    assert add_parameters(result, parameters) == result


ITEM_URLS = {item.url for item in load_digest(WITH_URLS).items}
ITEM_LINKS = item_links(load_digest(WITH_URLS), UTM).links
FILTER = environment(REPO / "templates", autoescape=False).from_string("{{ url | tracked }}")


@settings(max_examples=200)
@given(st.one_of(st.text(max_size=60), st.sampled_from(sorted(ITEM_LINKS))))
def test_property_only_item_links_change(url: str) -> None:
    """The template filter changes no URL but the digest's item links: whatever URL a
    template passes through `tracked` (unsubscribe, view in browser, the website), it comes
    back as it was."""
    rendered = FILTER.render(url=url, item_links=ITEM_LINKS)
    assert rendered == ITEM_LINKS.get(url, url)
    if url not in ITEM_URLS:
        assert rendered == url


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


def test_html_and_text_carry_parameters_on_item_links_only(config: Config) -> None:
    """With links.utm set, each "Read at …" link in the HTML and each item URL in the text
    gain the parameters (& written &amp; in HTML, as is in text); every other link, the
    unsubscribe placeholder and "view in browser" among them, is exactly as without."""
    config = tracking(config)
    digest = load_digest(WITH_URLS)
    plain = render_issue(digest, tracking(config, None))
    issue = render_issue(digest, config)
    items = {item.url for item in digest.items if item.url}
    changed = [
        (old, new)
        for old, new in zip(hrefs(plain.html), hrefs(issue.html), strict=True)
        if old != new
    ]
    assert {html.unescape(old) for old, _ in changed} == items
    for old, new in changed:
        assert new == html.escape(add_parameters(html.unescape(old), PARAMETERS), quote=False)
    for url in items:
        assert f"   {add_parameters(url, PARAMETERS)}\n" in issue.text
    unsubscribe = issue.placeholders["unsubscribe_url"]
    assert f'href="{unsubscribe}"' in issue.html
    assert f"Unsubscribe: {unsubscribe}\n" in issue.text
    assert "utm_" not in issue.text.split("Unsubscribe:")[1]
    assert "View in your browser: https://newsletter.astanatimes.com/archive/2025-09-12/\n" in (
        issue.text
    )
    assert issue.warnings == plain.warnings


def test_an_item_link_equal_to_a_footer_link_is_tracked_only_as_an_item(config: Config) -> None:
    """An item whose URL is the publication's website or the issue's archive page: the
    item link is tracked, the masthead, footer and "view in browser" links are not."""
    config = tracking(config)
    data: dict[str, Any] = json.loads(WITH_URLS.read_text(encoding="utf-8"))
    view = "https://newsletter.astanatimes.com/archive/2025-09-12/"
    data["items"][0]["url"] = "https://astanatimes.com"
    data["items"][1]["url"] = view
    issue = render_issue(parse_digest(json.dumps(data)), config)
    links = hrefs(issue.html)
    assert links.count("https://astanatimes.com") == 2  # masthead and footer
    assert links.count(view) == 2  # "view in browser", top and footer
    assert add_parameters("https://astanatimes.com", PARAMETERS).replace("&", "&amp;") in links


def test_off_by_default(config: Config) -> None:
    """Without links.utm (the embedded defaults and the shipped config.yaml) nothing is
    added: the golden files stay as they are."""
    assert Config().links.utm is None and config.links.utm is None
    issue = render_issue(load_digest(WITH_URLS), config)
    assert "utm_campaign" not in issue.html and "utm_campaign" not in issue.text
    for item in load_digest(WITH_URLS).items:
        if item.url:
            assert f'href="{html.escape(item.url, quote=False)}"' in issue.html


def test_a_link_too_long_to_track_goes_out_as_written(config: Config) -> None:
    """A link that the parameters would push past one line of the email (800 octets in
    HTML) is sent untracked, with a warning naming it, never broken."""
    data: dict[str, Any] = json.loads(WITH_URLS.read_text(encoding="utf-8"))
    long_url = "https://a.example/" + "x" * 760
    data["items"][2]["url"] = long_url
    issue = render_issue(parse_digest(json.dumps(data)), tracking(config))
    assert f'href="{long_url}"' in issue.html
    assert issue.warnings[0].startswith("items[2].url: sent without the tracking parameters")
    tracked = [link for link in hrefs(issue.html) if "utm_campaign=weekly-2025-09-12" in link]
    assert len(tracked) == len({item["url"] for item in data["items"] if "url" in item}) - 1


def test_message_headers_never_carry_parameters(config: Config) -> None:
    """The List-Unsubscribe header is built from the reader's link, not the rendering:
    with tracking on it is exactly the reader's unsubscribe URL."""
    from newsletter.message.mime import mime_bytes
    from tests.delivery_support import PUBLIC, personal_messages, sample_issue

    base = config.publication.model_copy(update={"public_base_url": PUBLIC})
    issue = sample_issue(tracking(config.model_copy(update={"publication": base})))
    raw = mime_bytes(personal_messages(1, issue)[0])
    headers = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert f"List-Unsubscribe: <{PUBLIC}/unsubscribe/1.token1>" in headers
    assert "utm_" not in headers


def write_config(folder: Path, links: Any) -> Path:
    path = folder / "config.yaml"
    path.write_text(json.dumps({"links": links}), encoding="utf-8")  # JSON is YAML
    return path


def test_config_keys_and_defaults(tmp_path: Path) -> None:
    """links.utm needs only `source`; medium defaults to email and campaign to
    digest-{date}, {date} being the issue date."""
    config = load_config(write_config(tmp_path, {"utm": {"source": "astanatimes"}}))
    assert config.links.utm is not None
    assert config.links.utm.parameters(dt.date(2025, 9, 12)) == {
        "utm_source": "astanatimes",
        "utm_medium": "email",
        "utm_campaign": "digest-2025-09-12",
    }


@pytest.mark.parametrize(
    ("utm", "expected"),
    [
        ({}, "links.utm.source: is required"),
        ({"source": "a", "campaign": "w-{issue}"}, "unknown placeholder {issue}"),
        ({"source": "a", "campaign": "w-{date:%Y}"}, "unknown placeholder {date:%Y}"),
        ({"source": "a", "campaign": "w-{date!r}"}, "unknown placeholder {date!r}"),
        ({"source": "a", "campaign": "w-{date"}, "links.utm.campaign: not a valid template"),
        ({"source": "a\nb"}, "links.utm.source: contains a control character or line break"),
        ({"source": "a" * 101}, "links.utm.source: expected 1 to 100 characters, got 101"),
        ({"source": "a", "content": "x"}, "links.utm.content: unknown field"),
    ],
)
def test_bad_config_is_named(tmp_path: Path, utm: dict[str, str], expected: str) -> None:
    """A wrong utm key or value stops at load (ConfigError, exit 4) naming its path: a
    template that could fail or leak at render time never reaches a send."""
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, {"utm": utm}))
    assert expected in caught.value.message
    assert caught.value.exit_code == 4


def test_braces_can_be_written(tmp_path: Path) -> None:
    """{{ and }} stand for literal braces (percent-encoded in the link)."""
    config = load_config(write_config(tmp_path, {"utm": {"source": "a", "campaign": "{{x}}"}}))
    assert config.links.utm is not None
    assert config.links.utm.parameters(dt.date(2025, 9, 12))["utm_campaign"] == "{x}"
