"""Redirects and links never follow the request's Host header."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest

from newsletter.store import Store
from newsletter.web.app import allowed_hosts
from tests.feedback.signing import Signer
from tests.web.support import Site, make_site, web_config


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    made = make_site(tmp_path, Signer.new())
    yield made
    made.store.close()


@pytest.mark.parametrize("host", ["evil.example", "news.example.com.evil.example", "", "a b"])
@pytest.mark.parametrize("path", ["/archive", "/archive/", "/feed.xml", "/nothing", "/healthz"])
def test_other_hosts_are_refused(site: Site, host: str, path: str) -> None:
    """With public_base_url set, a request naming another host gets a 400 and no Location."""
    answer = site.client.get(path, headers={"host": host}, follow_redirects=False)
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert "evil.example" not in answer.text


@pytest.mark.parametrize("host", ["news.example.com", "NEWS.example.com:443", "127.0.0.1:8000",
                                  "localhost", "[::1]:8000"])  # fmt: skip
def test_configured_and_loopback_hosts_are_served(site: Site, host: str) -> None:
    """The base URL's host (any case, any port) and loopback (health checks) are answered."""
    assert site.client.get("/healthz", headers={"host": host}).status_code == 200


@pytest.mark.parametrize(
    ("path", "location", "lands_on"),
    [
        ("/archive", "./archive/", "/archive/"),
        ("/archive?page=2", "./archive/?page=2", "/archive/?page=2"),
        ("/archive/2025-09-12", "./2025-09-12/", "/archive/2025-09-12/"),
        ("/archive/javascript:alert(1)", "./javascript%3Aalert%281%29/",
         "/archive/javascript%3Aalert%281%29/"),
        ("/healthz/", "../healthz", "/healthz"),
    ],
)  # fmt: skip
def test_slash_redirects_are_relative(site: Site, path: str, location: str, lands_on: str) -> None:
    """`/archive` → `./archive/`: a relative Location, resolved by the browser against the
    URL it asked for (so it cannot name another host or scheme)."""
    answer = site.client.get(path, headers={"host": "127.0.0.1"}, follow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["location"] == location
    assert urljoin(f"https://news.example.com{path}", location).endswith(lands_on)


def test_not_found_page_links_to_the_configured_base(site: Site) -> None:
    """The 404 page's link to the archive is built from public_base_url, not from Host."""
    answer = site.client.get("/nothing", headers={"host": "localhost"})
    assert answer.status_code == 404
    assert "https://news.example.com/archive/" in answer.text
    assert "localhost" not in answer.text


def test_without_a_base_url_only_loopback_is_served(tmp_path: Path) -> None:
    """No public_base_url: only loopback hosts are answered, so no absolute link can be
    built from a host a client made up."""
    config = web_config("https://x.example")
    config = config.model_copy(
        update={"publication": config.publication.model_copy(update={"public_base_url": None})}
    )
    assert allowed_hosts(config) == ["127.0.0.1", "localhost", "[::1]"]
    with Store.open(f"sqlite:///{tmp_path / 's.sqlite3'}", create=True) as store:
        site = Site(config, store, Signer.new())
        assert site.client.get("/healthz", headers={"host": "evil.example"}).status_code == 400
        assert site.client.get("/healthz", headers={"host": "127.0.0.1"}).status_code == 200


def test_ipv6_base_url_host_is_allowed() -> None:
    """An IPv6 literal base URL is allowed in the bracketed form Host headers use."""
    assert allowed_hosts(web_config("http://[2001:db8::1]:8080"))[0] == "[2001:db8::1]"
