"""The preference page over HTTP (in-process client): every action, every refusal, and
that no GET changes anything."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsletter.clock import FixedClock
from newsletter.store import Source, Status
from newsletter.tokens import CHANGE_ADDRESS, make_expiring_token
from tests.transports.harness import free_port
from tests.web.preference_support import (
    confirmation_emails,
    confirmation_link,
    csrf_of,
    preference_site,
    preferences_token,
)
from tests.web.support import NOW, Site

READER = "reader00001@example.com"


@pytest.fixture
def clocked(tmp_path: Path) -> Iterator[tuple[Site, FixedClock]]:
    made, clock = preference_site(tmp_path)
    made.subscribe(2)
    yield made, clock
    made.store.close()


@pytest.fixture
def site(clocked: tuple[Site, FixedClock]) -> Site:
    return clocked[0]


def _page(site: Site, email: str = READER) -> tuple[str, str]:
    """The preference page's URL path and its CSRF token."""
    path = f"/preferences/{preferences_token(site, email)}"
    answer = site.client.get(path)
    assert answer.status_code == 200
    return path, csrf_of(answer.text)


def _snapshot(site: Site, email: str = READER) -> tuple[object, ...]:
    found = site.store.subscribers.get(email)
    assert found is not None
    details = site.store.subscribers.details(email)
    return (found, details.memberships, details.history)


def test_the_page_shows_lists_pause_address_and_leave_without_changing_anything(
    site: Site,
) -> None:
    """GET (and HEAD) of the page and of the erase page change nothing, however often."""
    before = _snapshot(site)
    path, _ = _page(site)
    for _ in range(2):
        page = site.client.get(path)
        assert site.client.get(path + "/erase").status_code == 200
        assert site.client.head(path).status_code == 200
    assert _snapshot(site) == before
    text = page.text
    assert "r•••@example.com" in text and READER not in text
    assert 'value="weekly" checked' in text and 'value="monthly">' in text
    assert "2 weeks" in text and "8 weeks" in text
    assert "Unsubscribe from everything" in text and "Delete my data" in text
    assert page.headers["cache-control"] == "no-store"


def test_choosing_lists_joins_and_leaves_public_lists_with_history(site: Site) -> None:
    """Ticking monthly and unticking weekly moves the memberships and records both."""
    path, csrf = _page(site)
    answer = site.client.post(path, data={"csrf": csrf, "action": "lists", "list": ["monthly"]})
    assert answer.status_code == 200
    assert "you receive monthly" in answer.text
    assert site.store.subscribers.active_lists(_id(site)) == {"monthly"}
    assert site.store.subscribers.details(READER).history[-1].reason == (
        "lists: joined monthly; left weekly"
    )


def test_a_list_that_is_not_public_cannot_be_chosen(site: Site) -> None:
    """`editors` is not public: asking for it is a 400 page and changes nothing."""
    path, csrf = _page(site)
    before = _snapshot(site)
    answer = site.client.post(path, data={"csrf": csrf, "action": "lists", "list": ["editors"]})
    assert answer.status_code == 400
    assert "not a list you can choose: editors" in answer.text
    assert _snapshot(site) == before


def test_pause_sets_the_date_and_resume_clears_it(site: Site) -> None:
    """Pausing 4 weeks stores now + 28 days; resuming clears it; both in the history."""
    path, csrf = _page(site)
    answer = site.client.post(path, data={"csrf": csrf, "action": "pause", "weeks": "4"})
    assert answer.status_code == 200 and "Paused" in answer.text
    found = site.store.subscribers.get(READER)
    assert found is not None and found.paused_until is not None
    assert found.paused_until == datetime.fromtimestamp(NOW, UTC) + timedelta(weeks=4)
    answer = site.client.post(path, data={"csrf": csrf, "action": "resume"})
    assert answer.status_code == 200
    found = site.store.subscribers.get(READER)
    assert found is not None and found.paused_until is None
    reasons = [h.reason or "" for h in site.store.subscribers.details(READER).history]
    assert any(r.startswith("paused until") for r in reasons) and "pause ended" in reasons


def test_a_pause_that_is_not_offered_is_refused(site: Site) -> None:
    """Only the configured numbers of weeks: 3 (or text) is a 400 and changes nothing."""
    path, csrf = _page(site)
    before = _snapshot(site)
    for weeks in ("3", "x", ""):
        answer = site.client.post(path, data={"csrf": csrf, "action": "pause", "weeks": weeks})
        assert answer.status_code == 400
    assert _snapshot(site) == before


def test_unsubscribe_from_everything(site: Site) -> None:
    """The button unsubscribes on every list, recorded from the web."""
    path, csrf = _page(site)
    answer = site.client.post(path, data={"csrf": csrf, "action": "unsubscribe"})
    assert answer.status_code == 200
    assert site.status(READER) == Status.UNSUBSCRIBED
    assert site.store.subscribers.details(READER).history[-1].source == "web"


def test_change_of_address_waits_for_the_new_address(site: Site) -> None:
    """The request mails a link to the new address; GET on it changes nothing; POST
    (with the page's CSRF token) replaces the address; a second POST is harmless."""
    path, csrf = _page(site)
    new = "new.home@example.org"
    answer = site.client.post(path, data={"csrf": csrf, "action": "change-address", "email": new})
    assert answer.status_code == 200 and "sent a link" in answer.text
    assert site.store.subscribers.get(READER) is not None  # not yet changed
    [message] = confirmation_emails(site.config)
    assert message["To"] == new
    link = confirmation_link(message)
    confirm_path = link.removeprefix("https://news.example.com")
    for _ in range(2):
        page = site.client.get(confirm_path)
        assert page.status_code == 200 and 'method="post"' in page.text
    assert site.store.subscribers.get(new) is None
    done = site.client.post(confirm_path, data={"csrf": csrf_of(page.text)})
    assert done.status_code == 200 and "n•••@example.org" in done.text
    assert site.store.subscribers.get(READER) is None
    moved = site.store.subscribers.get(new)
    assert moved is not None and moved.id == _id_of(site, new)
    again = site.client.post(confirm_path, data={"csrf": csrf_of(page.text)})
    assert again.status_code == 200 and "confirmed already" in again.text


def test_a_malformed_new_address_is_a_field_error(site: Site) -> None:
    """A malformed address comes back as a 400 page with the field marked invalid."""
    path, csrf = _page(site)
    answer = site.client.post(
        path, data={"csrf": csrf, "action": "change-address", "email": "not an address"}
    )
    assert answer.status_code == 400
    assert 'aria-invalid="true"' in answer.text and 'role="alert"' in answer.text
    assert "like name@example.com" in answer.text
    assert "is not a valid email address" not in answer.text  # not the validator's words
    assert confirmation_emails(site.config) == []


def test_the_current_address_is_not_a_change(site: Site) -> None:
    """Asking to change to the address already in use (any case) is a 400 that says so,
    sends nothing, and does not start the hour before another request may be made."""
    path, csrf = _page(site)
    same = READER.upper()
    answer = site.client.post(path, data={"csrf": csrf, "action": "change-address", "email": same})
    assert answer.status_code == 400 and "already send to" in answer.text
    assert confirmation_emails(site.config) == []
    other = "other.home@example.org"
    answer = site.client.post(path, data={"csrf": csrf, "action": "change-address", "email": other})
    assert answer.status_code == 200 and "sent a link" in answer.text


def test_an_expired_or_forged_confirmation_link_is_the_neutral_page(site: Site) -> None:
    """A change-address link past its expiry, or signed with another purpose, is a 400."""
    found = site.store.subscribers.get(READER)
    assert found is not None
    expires = datetime.fromtimestamp(site.clock[0], UTC) + timedelta(days=7)
    change = site.store.subscribers.request_address_change(
        found.id, "other@example.org", expires, source=Source.WEB
    )
    expired = make_expiring_token(
        change.id, site.secret, purpose=CHANGE_ADDRESS, expires_at=datetime.fromtimestamp(NOW, UTC)
    )
    wrong = make_expiring_token(change.id, site.secret, purpose="confirm", expires_at=expires)
    for token in (expired, wrong, "1.2.x"):
        assert site.client.get(f"/confirm-address/{token}").status_code == 400
    assert site.store.subscribers.get("other@example.org") is None


def test_a_post_without_the_csrf_token_is_refused(site: Site) -> None:
    """No token, a forged one, another reader's, or a stale one: 403, nothing changes;
    the page's own token is accepted (the last post)."""
    path, csrf = _page(site)
    _, other = _page(site, "reader00002@example.com")
    before = _snapshot(site)
    stale = f"{NOW - 3 * 86_400}.{csrf.split('.', 1)[1]}"
    for token in ("", "123.abc", other, stale):
        answer = site.client.post(path, data={"csrf": token, "action": "unsubscribe"})
        assert answer.status_code == 403, token
    assert _snapshot(site) == before
    assert site.client.post(path, data={"csrf": csrf, "action": "unsubscribe"}).status_code == 200


def test_a_post_from_another_origin_is_refused(site: Site) -> None:
    """An Origin naming another site is refused even with a good token; our own origin
    and `null` (what browsers send under no-referrer) are accepted."""
    path, csrf = _page(site)
    form = {"csrf": csrf, "action": "pause", "weeks": "2"}
    refused = site.client.post(path, data=form, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert site.client.post(path, data=form, headers={"Origin": "null"}).status_code == 200
    ours = site.client.post(path, data=form, headers={"Origin": "https://news.example.com"})
    assert ours.status_code == 200


def test_an_oversized_or_unknown_form_is_a_4xx(site: Site) -> None:
    """A body over the cap is 413; an unknown action 400; neither changes anything."""
    path, csrf = _page(site)
    before = _snapshot(site)
    big = site.client.post(path, data={"csrf": csrf, "action": "lists", "list": "x" * 9000})
    assert big.status_code == 413
    unknown = site.client.post(path, data={"csrf": csrf, "action": "drop-table"})
    assert unknown.status_code == 400
    assert _snapshot(site) == before


def test_bad_preference_links_get_the_neutral_page(site: Site) -> None:
    """An unsubscribe token does not open the preference page; nor does a forged one."""
    unsubscribe_token = site.token(READER)
    for token in (unsubscribe_token, "1.abc", "x"):
        assert site.client.get(f"/preferences/{token}").status_code == 400
        assert site.client.post(f"/preferences/{token}", data={}).status_code == 400


def test_delete_my_data_asks_then_erases(site: Site) -> None:
    """GET of the erase link asks; POST erases: the address is gone, only its keyed hash
    is kept, and the page's link no longer opens anything."""
    path, _ = _page(site)
    ask = site.client.get(path + "/erase")
    assert ask.status_code == 200 and "Delete everything" in ask.text
    assert site.store.subscribers.get(READER) is not None
    done = site.client.post(path + "/erase", data={"csrf": csrf_of(ask.text)})
    assert done.status_code == 200 and "Your data is deleted" in done.text
    assert site.store.subscribers.get(READER) is None
    assert site.store.erasures.is_erased(READER, site.secret)
    assert site.client.get(path).status_code == 400


def _id(site: Site) -> int:
    return _id_of(site, READER)


def _id_of(site: Site, email: str) -> int:
    found = site.store.subscribers.get(email)
    assert found is not None
    return found.id


def test_one_confirmation_email_per_reader_per_hour(clocked: tuple[Site, FixedClock]) -> None:
    """A second change of address within the hour is refused (400, no email); an hour
    later it is accepted and mails the new address, whose link replaces the first."""
    site, clock = clocked
    path, csrf = _page(site)
    form = {"csrf": csrf, "action": "change-address", "email": "first@example.org"}
    assert site.client.post(path, data=form).status_code == 200
    again = site.client.post(path, data={**form, "email": "second@example.org"})
    assert again.status_code == 400 and "less than an hour ago" in again.text
    assert len(confirmation_emails(site.config)) == 1
    site.clock[0] += 3601
    clock.advance(timedelta(seconds=3601))
    _, csrf = _page(site)
    later = site.client.post(path, data={**form, "csrf": csrf, "email": "second@example.org"})
    assert later.status_code == 200
    first, second = confirmation_emails(site.config)
    assert second["To"] == "second@example.org"
    old = confirmation_link(first).removeprefix("https://news.example.com")
    assert site.client.get(old).status_code == 400  # replaced by the newer request


def test_a_transport_failure_is_a_503_without_detail(site: Site, tmp_path: Path) -> None:
    """When the confirmation cannot be sent (no SMTP server), the reader gets the
    'try again later' page (503), which names no server or setting."""
    smtp = site.config.delivery.smtp.model_copy(update={"host": "127.0.0.1", "port": free_port()})
    delivery = site.config.delivery.model_copy(update={"transport": "smtp", "smtp": smtp})
    broken = Site(site.config.model_copy(update={"delivery": delivery}), site.store, site.signer)
    path, csrf = _page(broken)
    answer = broken.client.post(
        path, data={"csrf": csrf, "action": "change-address", "email": "x@example.org"}
    )
    assert answer.status_code == 503
    assert "127.0.0.1" not in answer.text and "smtp" not in answer.text.lower()
    found = site.store.subscribers.get(READER)
    assert found is not None
    assert site.store.subscribers.pending_address_change(found.id) is None  # ask again now


def test_the_new_address_is_not_mailed_the_readers_own_words(site: Site) -> None:
    """The confirmation to a new (unconfirmed) address carries no name: a reader's name
    is text anyone may have typed on the sign-up form, and the form must not be a way to
    mail a stranger's words to any address (neither in To nor in the body)."""
    from newsletter.csvio import CsvRow

    hostile = "Buy pills at spam.example now"
    reader = "named.reader@example.com"
    site.store.subscribers.import_entries([CsvRow(2, reader, hostile, None)], "weekly", origin="t")
    path, csrf = _page(site, reader)
    new = "stranger@example.org"
    answer = site.client.post(path, data={"csrf": csrf, "action": "change-address", "email": new})
    assert answer.status_code == 200 and "sent a link" in answer.text
    [message] = confirmation_emails(site.config)
    assert message["To"] == new
    assert hostile not in message.as_string()
