"""/reports/: the report page behind a bearer token from NEWSLETTER_REPORT_TOKEN, compared
in constant time; without the variable there is no such page at all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.errors import ConfigError
from newsletter.secrets import Secret
from newsletter.web.app import bearer_matches
from tests.feedback.signing import Signer
from tests.web.support import ISSUE, Site, make_site

TOKEN = "reports-token-for-tests-0123456789abcdef"  # noqa: S105 - a test token
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """A site whose store has one finished send of 2025-09-12, reports turned on."""
    monkeypatch.setenv("NEWSLETTER_REPORT_TOKEN", TOKEN)
    made = make_site(tmp_path, Signer.new())
    made.finish_send()
    yield made
    made.store.close()


def test_without_the_variable_the_reports_do_not_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NEWSLETTER_REPORT_TOKEN unset: /reports/ is the same 404 page as any unknown URL,
    with or without a token (nothing says reports could exist)."""
    monkeypatch.delenv("NEWSLETTER_REPORT_TOKEN", raising=False)
    made = make_site(tmp_path, Signer.new())
    made.finish_send()
    unknown = made.client.get("/no-such-page")
    for path in ("/reports/", f"/reports/{ISSUE}"):
        answer = made.client.get(path, headers=AUTH)
        assert answer.status_code == 404
        assert answer.text == unknown.text
    made.store.close()


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}",
     f"Basic {TOKEN}", TOKEN, "Bearer " + "x" * len(TOKEN)],
)  # fmt: skip
def test_a_missing_or_wrong_token_is_401_with_a_challenge(
    site: Site, authorization: str | None
) -> None:
    """No token, another scheme, a token one character short or long: 401 with
    `WWW-Authenticate: Bearer` (RFC 6750), never the page, never cached."""
    headers = {} if authorization is None else {"Authorization": authorization}
    for path in ("/reports/", f"/reports/{ISSUE}"):
        answer = site.client.get(path, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == 'Bearer realm="reports"'
        assert answer.headers["cache-control"] == "no-store"
        assert ISSUE not in answer.text


def test_the_token_opens_the_page(site: Site) -> None:
    """The right token (scheme in any case): the newest issue's page at /reports/, the
    named issue's at /reports/{issue}; self-contained (CSP default-src 'none'), not
    cached, not indexed; an issue never sent or a malformed one is a 404."""
    for path, scheme in (("/reports/", "Bearer"), (f"/reports/{ISSUE}", "bearer")):
        answer = site.client.get(path, headers={"Authorization": f"{scheme} {TOKEN}"})
        assert answer.status_code == 200
        assert f"Issue {ISSUE}" in answer.text
        assert answer.text.count('<svg role="img"') == 2  # no kept version: no item chart
        assert answer.headers["content-security-policy"].startswith("default-src 'none'")
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-robots-tag"] == "noindex, nofollow"
    for path in ("/reports/2024-01-01", "/reports/..%2f..%2fetc", "/reports/2025-9-12"):
        assert site.client.get(path, headers=AUTH).status_code == 404


def test_the_comparison_is_exact() -> None:
    """`bearer_matches`: only `Bearer <token>` exactly (surrounding spaces aside) matches."""
    token = Secret("NEWSLETTER_REPORT_TOKEN", TOKEN)
    assert bearer_matches(f"Bearer {TOKEN}", token)
    assert bearer_matches(f"BEARER  {TOKEN} ", token)
    assert not bearer_matches(f"Bearer {TOKEN.upper()}", token)
    assert not bearer_matches(None, token)
    assert not bearer_matches("Bearer é", token)  # non-ASCII is a mismatch, not an error


@pytest.mark.parametrize("value", ["", "tiny-t0ken", " " + TOKEN, TOKEN + "\n"])
def test_an_unusable_token_stops_the_app_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """A blank, short or padded NEWSLETTER_REPORT_TOKEN is a ConfigError at start-up,
    naming the variable and never its value."""
    monkeypatch.setenv("NEWSLETTER_REPORT_TOKEN", value)
    with pytest.raises(ConfigError, match="NEWSLETTER_REPORT_TOKEN") as raised:
        make_site(tmp_path, Signer.new())
    assert value.strip() == "" or value.strip() not in str(raised.value)
