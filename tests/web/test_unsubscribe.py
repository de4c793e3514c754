"""Unsubscribe and resubscribe through the web endpoint (in-process client)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.errors import StoreError
from newsletter.secrets import Secret
from newsletter.store import Source, Status
from newsletter.tokens import make_token
from tests.feedback.signing import Signer
from tests.web.support import OTHER_SECRET, Site, make_site

ONE_CLICK = b"List-Unsubscribe=One-Click"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    made = make_site(tmp_path, Signer.new())
    made.subscribe(3)
    yield made
    made.store.close()


def test_get_shows_a_confirm_page_and_never_unsubscribes(site: Site) -> None:
    """GET (what link scanners do) shows the confirm page naming the newsletter; nothing changes."""
    email = "reader00001@example.com"
    for _ in range(3):
        answer = site.client.get(f"/unsubscribe/{site.token(email)}")
        assert answer.status_code == 200
    assert "Unsubscribe from Foreign Media Digest?" in answer.text
    assert 'method="post"' in answer.text
    assert "r•••@example.com" in answer.text and email not in answer.text
    assert site.status(email) == "subscribed"
    assert site.client.head(f"/unsubscribe/{site.token(email)}").status_code == 200
    assert site.status(email) == "subscribed"


def test_one_click_post_unsubscribes_at_once(site: Site) -> None:
    """RFC 8058: a POST with `List-Unsubscribe=One-Click` unsubscribes before the answer comes."""
    email = "reader00002@example.com"
    answer = site.client.post(
        f"/unsubscribe/{site.token(email)}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    assert "You are unsubscribed" in answer.text
    assert site.status(email) == "unsubscribed"
    history = site.store.subscribers.details(email).history
    assert history[-1].source == Source.WEB.value
    assert site.status("reader00001@example.com") == "subscribed"  # nobody else


def test_post_is_idempotent(site: Site) -> None:
    """Posting again (a provider retrying, a double click) answers the same and adds no history."""
    email = "reader00001@example.com"
    token = site.token(email)
    first = site.client.post(f"/unsubscribe/{token}", content=ONE_CLICK)
    second = site.client.post(f"/unsubscribe/{token}", content=ONE_CLICK)
    assert first.status_code == second.status_code == 200
    assert first.text == second.text
    changes = [
        h for h in site.store.subscribers.details(email).history if h.to_status == "unsubscribed"
    ]
    assert len(changes) == 1


def test_empty_body_post_also_unsubscribes(site: Site) -> None:
    """A provider that posts without the body still gets its reader unsubscribed."""
    email = "reader00003@example.com"
    assert site.client.post(f"/unsubscribe/{site.token(email)}").status_code == 200
    assert site.status(email) == "unsubscribed"


def test_bad_links_all_get_the_same_neutral_page(site: Site) -> None:
    """Tampered, foreign-secret, malformed and unknown-subscriber tokens: one identical 400 page."""
    genuine = site.token("reader00001@example.com")
    tampered = genuine[:-1] + ("A" if genuine[-1] != "A" else "B")
    foreign = make_token(1, Secret("NEWSLETTER_SECRET", OTHER_SECRET))
    unknown = make_token(999, site.secret)  # correctly signed, but nobody has id 999
    answers = [
        site.client.request(method, f"/unsubscribe/{token}")
        for token in (tampered, foreign, "garbage", unknown)
        for method in ("GET", "POST")
    ]
    assert {a.status_code for a in answers} == {400}
    assert len({a.text for a in answers}) == 1
    assert "This link is not valid" in answers[0].text
    assert site.status("reader00001@example.com") == "subscribed"
    resubscribe = site.client.post(f"/resubscribe/{foreign}")
    assert (resubscribe.status_code, resubscribe.text) == (400, answers[0].text)


def test_resubscribe_undoes_an_unsubscribe(site: Site) -> None:
    """The confirmation page's button resubscribes; its page offers to unsubscribe again."""
    email = "reader00001@example.com"
    token = site.token(email)
    done = site.client.post(f"/unsubscribe/{token}", content=ONE_CLICK)
    assert f'action="../resubscribe/{token}"' in done.text
    again = site.client.post(f"/resubscribe/{token}")
    assert again.status_code == 200
    assert "Welcome back" in again.text
    assert f'action="../unsubscribe/{token}"' in again.text
    assert site.status(email) == "subscribed"


def test_resubscribe_does_not_lift_a_bounce_or_complaint(site: Site) -> None:
    """Only an unsubscribe is undone from the web; a bounce or spam complaint stays."""
    site.store.subscribers.set_status(
        "reader00002@example.com", Status.BOUNCED, reason="550", source=Source.WEBHOOK
    )
    answer = site.client.post(f"/resubscribe/{site.token('reader00002@example.com')}")
    assert answer.status_code == 200
    assert "cannot resubscribe" in answer.text
    assert site.status("reader00002@example.com") == "bounced"


def test_get_on_an_unsubscribed_link_shows_the_done_page(site: Site) -> None:
    """Coming back to the link after unsubscribing shows the state and the resubscribe button."""
    token = site.token("reader00001@example.com")
    site.client.post(f"/unsubscribe/{token}", content=ONE_CLICK)
    answer = site.client.get(f"/unsubscribe/{token}")
    assert "You are unsubscribed" in answer.text
    assert f'action="../resubscribe/{token}"' in answer.text


def test_pages_are_private_and_self_contained(site: Site) -> None:
    """Personal pages are not cached, send no Referer, and load nothing from elsewhere."""
    answer = site.client.get(f"/unsubscribe/{site.token('reader00001@example.com')}")
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert "<script" not in answer.text
    assert "http://" not in answer.text and "src=" not in answer.text
    assert '<meta name="viewport"' in answer.text and "prefers-color-scheme: dark" in answer.text


def test_store_failure_is_a_503_page_not_a_traceback(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store that cannot write answers 503 with Retry-After (providers retry), never a 500."""

    def broken(*_: object, **__: object) -> None:
        raise StoreError("database is locked")

    monkeypatch.setattr(site.store.subscribers, "unsubscribe", broken)
    answer = site.client.post(f"/unsubscribe/{site.token('reader00001@example.com')}")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "60"
    assert "try again" in answer.text


def test_help_page_health_and_not_found(site: Site) -> None:
    """/unsubscribe/ explains how to unsubscribe; /healthz answers; unknown paths get a 404 page."""
    assert "How to unsubscribe" in site.client.get("/unsubscribe/").text
    health = site.client.get("/healthz")
    assert (health.status_code, health.text) == (200, "ok")
    missing = site.client.get("/nothing-here")
    assert missing.status_code == 404
    assert "Page not found" in missing.text
    assert site.client.get("/resubscribe/x").status_code == 405
