"""Sign-up with double opt-in through the web endpoint: the form, the confirmation email
in the real outbox, the signed expiring link, and every abuse guard refused and accepted."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from newsletter.readers import Signups
from newsletter.store import Source, Status
from newsletter.store.schema import signups, status_history
from newsletter.store.schema import subscribers as subscribers_table
from tests.web.signup_support import BASE, SignupSite, make_signup_site

READER = "aigerim.reader@example.com"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[SignupSite]:
    made = make_signup_site(tmp_path)
    yield made
    made.store.close()


def _rows(site: SignupSite) -> tuple[int, int, int]:
    """(sign-ups, subscribers, status history rows): what a GET must leave alone."""
    with site.store.database.read() as conn:
        return (
            conn.execute(select(func.count()).select_from(signups)).scalar_one(),
            conn.execute(select(func.count()).select_from(subscribers_table)).scalar_one(),
            conn.execute(select(func.count()).select_from(status_history)).scalar_one(),
        )


def test_the_form_shows_labelled_fields_the_public_lists_and_the_consent_text(
    site: SignupSite,
) -> None:
    """GET /subscribe: an email field, an optional name, the consent text beside a required
    box, every control labelled; no script; the page changes nothing."""
    page = site.client.get("/subscribe")
    assert page.status_code == 200
    html = page.text
    for control in ("email", "name", "consent"):
        assert f'<label for="{control}"' in html or f'for="{control}"' in html
    assert site.config.signup.consent_text in html
    assert "<script" not in html
    assert page.headers["cache-control"] == "no-store"
    assert _rows(site) == (0, 0, 0)


def test_a_reader_signs_up_confirms_and_is_subscribed_with_a_consent_record(
    site: SignupSite,
) -> None:
    """POST stores a pending sign-up and sends one confirmation email (HTML and text, no
    List-Unsubscribe); nobody is subscribed until the link's POST; confirming subscribes
    the reader to the chosen list and records when, which consent text, and no IP."""
    answer = site.post(READER)
    assert answer.status_code == 200
    assert "Check your inbox" in answer.text
    assert site.store.subscribers.get(READER) is None
    [message] = site.emails_to(READER)
    assert message["List-Unsubscribe"] is None
    assert message.get_body(("html",)) is not None
    path = site.confirm_path(message)

    before = _rows(site)
    shown = site.client.get(path)
    assert shown.status_code == 200
    assert "a•••@example.com" in shown.text
    assert _rows(site) == before  # GET never confirms: link scanners change nothing
    assert site.store.subscribers.get(READER) is None

    site.clock.advance(timedelta(minutes=10))
    done = site.confirm(path)
    assert done.status_code == 200
    assert "You are subscribed" in done.text
    details = site.store.subscribers.details(READER)
    assert details.subscriber.status == Status.SUBSCRIBED
    assert [m.list_name for m in details.memberships if m.active] == ["weekly"]
    consent = details.consent
    assert consent is not None
    assert consent.confirmed_at - consent.posted_at == timedelta(minutes=10)
    expected = hashlib.sha256(site.config.signup.consent_text.encode()).hexdigest()
    assert consent.text_hash == expected
    assert consent.ip is None


def test_confirming_twice_changes_nothing(site: SignupSite) -> None:
    """A second POST on the link answers 'already confirmed' and writes nothing."""
    site.post(READER)
    path = site.confirm_path(site.emails_to(READER)[0])
    site.confirm(path)
    before = _rows(site)
    again = site.confirm(path)
    assert again.status_code == 200
    assert "Already confirmed" in again.text
    assert _rows(site) == before
    assert site.client.get(path).status_code == 200
    assert _rows(site) == before


def test_the_ip_is_kept_only_when_config_turns_it_on(tmp_path: Path) -> None:
    """signup.record_ip: the client's address goes into the consent record."""
    site = make_signup_site(tmp_path, record_ip=True)
    site.post(READER)
    site.confirm(site.confirm_path(site.emails_to(READER)[0]))
    consent = site.store.subscribers.details(READER).consent
    assert consent is not None
    assert consent.ip == "testclient"
    site.store.close()


def test_export_person_shows_the_consent_record_and_a_waiting_sign_up(tmp_path: Path) -> None:
    """The right of access covers what the sign-up stored: a confirmed reader's consent
    record (times, text hash, IP when recorded) and, for a stored reader who signed up
    again and has not confirmed yet, the waiting sign-up with its lists and IP."""
    site = make_signup_site(tmp_path, record_ip=True)
    site.post(READER)
    site.confirm(site.confirm_path(site.emails_to(READER)[0]))
    data = site.store.subscribers.person_data(READER)
    assert data["consent"]["ip"] == "testclient"
    assert (
        data["consent"]["consent_text_sha256"]
        == hashlib.sha256(site.config.signup.consent_text.encode()).hexdigest()
    )
    assert data["pending_signups"] == []
    site.clock.advance(timedelta(hours=2))
    site.post(READER)
    [waiting] = site.store.subscribers.person_data(READER)["pending_signups"]
    assert (waiting["lists"], waiting["ip"]) == (["weekly"], "testclient")
    site.store.close()


def test_the_answer_is_the_same_whatever_the_address(site: SignupSite) -> None:
    """New, subscribed, unsubscribed, bounced, complained and unknown-but-plausible
    addresses get byte-identical answers: the form tells nobody who subscribes."""
    site.store.subscribers.add("subscribed@example.com", "weekly")
    site.store.subscribers.add("left@example.com", "weekly")
    site.store.subscribers.unsubscribe("left@example.com")
    site.store.subscribers.set_status(
        "bounced@example.com", Status.BOUNCED, reason="550", source=Source.WEBHOOK
    )
    site.store.subscribers.set_status(
        "complained@example.com", Status.COMPLAINED, reason="spam report", source=Source.WEBHOOK
    )
    bodies = {
        address: site.post(address).text
        for address in (
            "new@example.com",
            "subscribed@example.com",
            "left@example.com",
            "bounced@example.com",
            "complained@example.com",
            "nobody@no-such-domain-at-all.example",
        )
    }
    assert len(set(bodies.values())) == 1


def test_a_complained_address_gets_no_email_and_others_are_never_reactivated_by_the_form(
    site: SignupSite,
) -> None:
    """A complaint: no confirmation email at all. An unsubscribed address: the form alone
    leaves it unsubscribed; its owner's confirmation brings it back."""
    site.store.subscribers.set_status(
        "complained@example.com", Status.COMPLAINED, reason="spam report", source=Source.WEBHOOK
    )
    site.store.subscribers.add("left@example.com", "weekly")
    site.store.subscribers.unsubscribe("left@example.com")
    site.post("complained@example.com")
    site.post("left@example.com")
    assert site.emails_to("complained@example.com") == []
    assert site.store.subscribers.get("left@example.com").status == Status.UNSUBSCRIBED  # type: ignore[union-attr]
    [message] = site.emails_to("left@example.com")
    site.confirm(site.confirm_path(message))
    assert site.store.subscribers.get("left@example.com").status == Status.SUBSCRIBED  # type: ignore[union-attr]


def test_a_stored_reader_s_confirmation_links_their_preference_page(site: SignupSite) -> None:
    """Issue 14 puts the preference link "in the confirmation email": a reader already in
    the store (here one who unsubscribed) gets their own preference link in both parts,
    and it opens their page; a new address, with no page yet, gets none."""
    site.store.subscribers.add("left@example.com", "weekly")
    site.store.subscribers.unsubscribe("left@example.com")
    site.post("left@example.com")
    site.post(READER)
    [known] = site.emails_to("left@example.com")
    [new] = site.emails_to(READER)
    pattern = re.compile(r"https://news\.example\.com/preferences/([0-9]+\.[A-Za-z0-9_-]{43})")
    parts = [known.get_body((kind,)) for kind in ("plain", "html")]
    found = [pattern.search(part.get_content()) for part in parts if part is not None]
    assert len(found) == 2 and all(found)
    assert found[0] is not None and found[1] is not None
    assert found[0].group(1) == found[1].group(1)
    page = site.client.get(f"/preferences/{found[0].group(1)}")
    assert page.status_code == 200
    assert "preferences</h1>" in page.text
    for kind in ("plain", "html"):
        part = new.get_body((kind,))
        assert part is not None and "/preferences/" not in part.get_content()


def test_a_complaint_after_the_email_is_not_lifted_by_the_link(site: SignupSite) -> None:
    """An address that complains between the email and the click stays suppressed."""
    site.post(READER)
    path = site.confirm_path(site.emails_to(READER)[0])
    site.store.subscribers.set_status(
        READER, Status.COMPLAINED, reason="spam report", source=Source.WEBHOOK
    )
    answer = site.confirm(path)
    assert answer.status_code == 409
    assert site.store.subscribers.get(READER).status == Status.COMPLAINED  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("address", "field"),
    [("not-an-address", "email"), ("two@@example.com", "email"), ("", "email")],
)
def test_only_a_malformed_address_gets_a_field_error(
    site: SignupSite, address: str, field: str
) -> None:
    """A malformed address: the form again (400) with the error tied to its field."""
    answer = site.post(address)
    assert answer.status_code == 400
    assert f'id="{field}-error"' in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert _rows(site) == (0, 0, 0)


def test_the_consent_box_must_be_ticked(site: SignupSite) -> None:
    """No consent, no sign-up: the form again with the box's error."""
    answer = site.post(READER, consent=False)
    assert answer.status_code == 400
    assert 'id="consent-error"' in answer.text
    assert _rows(site)[0] == 0


def test_an_unknown_list_is_a_field_error(site: SignupSite) -> None:
    """Only lists declared public may be chosen: the editors' list is refused."""
    answer = site.post(READER, lists=("editors",))
    assert answer.status_code == 400
    assert 'id="lists-error"' in answer.text
    assert _rows(site)[0] == 0


# ----------------------------------------------------------------- abuse guards


def test_honeypot_filled_is_answered_alike_but_nothing_is_stored_or_sent(
    site: SignupSite,
) -> None:
    """Refused: the hidden field filled in. Accepted: left empty. Same page both times."""
    refused = site.post("bot@example.com", extra={"homepage": "http://spam.example"})
    accepted = site.post(READER, extra={"homepage": ""})
    assert refused.text == accepted.text
    assert site.emails_to("bot@example.com") == []
    assert len(site.emails_to(READER)) == 1


def test_a_form_posted_faster_than_the_minimum_fill_time_is_refused(site: SignupSite) -> None:
    """Refused: posted 1 s after the form was shown (the form again, 400, nothing stored).
    Accepted: posted after the 3 s minimum."""
    refused = site.post(READER, wait=1)
    assert refused.status_code == 400
    assert _rows(site)[0] == 0
    accepted = site.post(READER, wait=3)
    assert accepted.status_code == 200
    assert len(site.emails_to(READER)) == 1


def test_the_per_ip_rate_limit_refuses_then_lets_through_an_hour_later(tmp_path: Path) -> None:
    """Refused: the third POST within the hour from one IP (429 with Retry-After, nothing
    stored). Accepted: the first two, and the next one an hour later."""
    site = make_signup_site(tmp_path, rate_limit_per_ip_per_hour=2)
    assert site.post("one@example.com").status_code == 200
    assert site.post("two@example.com").status_code == 200
    refused = site.post("three@example.com")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert site.emails_to("three@example.com") == []
    site.clock.advance(timedelta(hours=1))
    assert site.post("three@example.com").status_code == 200
    assert len(site.emails_to("three@example.com")) == 1
    site.store.close()


def test_one_confirmation_email_per_address_per_hour(site: SignupSite) -> None:
    """Refused: a second sign-up of one address within the hour sends no second email
    (same page). Accepted: the next sign-up after the hour sends one."""
    first = site.post(READER)
    site.clock.advance(timedelta(minutes=30))
    second = site.post(READER)
    assert first.text == second.text
    assert len(site.emails_to(READER)) == 1
    site.clock.advance(timedelta(minutes=31))
    site.post(READER)
    assert len(site.emails_to(READER)) == 2


def test_the_per_address_post_limit(site: SignupSite) -> None:
    """Refused: a sixth post of one address within the hour is not even stored (its
    pending sign-up keeps the fifth post's lists). Accepted: the first five."""
    for _ in range(5):
        assert site.post(READER).status_code == 200
    pending = site.store.readers.pending_count()
    with site.store.database.read() as conn:
        posted_before = conn.execute(select(signups.c.posted_at)).scalar_one()
    assert site.post(READER).status_code == 200
    with site.store.database.read() as conn:
        assert conn.execute(select(signups.c.posted_at)).scalar_one() == posted_before
    assert site.store.readers.pending_count() == pending == 1


def test_a_forged_or_foreign_form_token_is_refused(site: SignupSite) -> None:
    """Refused (403, a fresh form, nothing stored): a made-up token, a token for another
    form, a token over two hours old. Accepted: a genuine fresh token."""
    from newsletter.web.forms import csrf_token

    other = csrf_token(site.secret, "preferences", site.clock.now())
    old = site.form_token()
    site.clock.advance(timedelta(hours=3))
    for token in ("1.abc", "1800000000." + "A" * 43, other, old):
        answer = site.post(READER, token=token)
        assert answer.status_code == 403, token
    assert _rows(site)[0] == 0
    assert site.post(READER).status_code == 200
    assert _rows(site)[0] == 1


def test_a_post_from_another_site_is_refused(site: SignupSite) -> None:
    """Refused: Origin (or Referer) of another site, 403. Accepted: our own origin."""
    refused = site.post(READER, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    refused = site.post(READER, headers={"Referer": "https://evil.example/page"})
    assert refused.status_code == 403
    assert _rows(site)[0] == 0
    accepted = site.post(READER, headers={"Origin": BASE})
    assert accepted.status_code == 200
    assert _rows(site)[0] == 1


def test_a_confirmation_post_from_another_site_or_without_the_page_is_refused(
    site: SignupSite,
) -> None:
    """Refused (403, the Confirm page again, nothing written): the button's POST with a
    foreign Origin, a POST without the page's form token, one with a forged token.
    Accepted: the page's own form, with `Origin: null` (its no-referrer policy) or ours."""
    site.post(READER)
    path = site.confirm_path(site.emails_to(READER)[0])
    assert site.confirm(path, headers={"Origin": "https://evil.example"}).status_code == 403
    assert site.client.post(path).status_code == 403
    assert site.client.post(path, data={"form_token": "1.x"}).status_code == 403
    refused = site.client.post(path, data={"form_token": "1.x"})
    assert "Confirm" in refused.text and 'name="form_token"' in refused.text
    assert site.store.subscribers.get(READER) is None
    assert site.confirm(path, headers={"Origin": "null"}).status_code == 200
    assert site.store.subscribers.get(READER) is not None


def test_the_subscribe_form_refuses_a_null_origin(site: SignupSite) -> None:
    """Refused: `Origin: null` on the sign-up form (a sandboxed frame elsewhere; our own
    form page keeps its referrer on this site, so browsers send its real origin)."""
    assert site.post(READER, headers={"Origin": "null"}).status_code == 403
    assert _rows(site)[0] == 0
    assert site.client.get("/subscribe").headers["referrer-policy"] == "same-origin"


def test_the_snippet_post_only_shows_our_form_filled_in(site: SignupSite) -> None:
    """A post without our token (the embeddable snippet, from the publication's site)
    stores and sends nothing: it answers with our form, the address filled in."""
    answer = site.post(READER, token="", headers={"Origin": "https://astanatimes.com"})
    assert answer.status_code == 200
    assert f'value="{READER}"' in answer.text
    assert 'name="form_token"' in answer.text
    assert _rows(site) == (0, 0, 0)
    assert site.emails() == []


def test_an_oversized_form_is_refused_unread(site: SignupSite) -> None:
    """A body larger than any sign-up form: 413, nothing stored."""
    answer = site.client.post(
        "/subscribe",
        content=b"email=" + b"a" * 20_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413 and "Form too large" in answer.text
    assert _rows(site)[0] == 0


# ----------------------------------------------------------------- the link


def test_an_expired_link_changes_nothing(site: SignupSite) -> None:
    """After signup.confirm_expiry_days: GET and POST answer 410, nobody is subscribed."""
    site.post(READER)
    path = site.confirm_path(site.emails_to(READER)[0])
    form_token = _form_token(site.client.get(path).text)
    site.clock.advance(timedelta(days=7, seconds=1))
    assert site.client.get(path).status_code == 410
    assert site.client.post(path, data={"form_token": form_token}).status_code == 410
    assert site.confirm(path).status_code == 410
    assert site.store.subscribers.get(READER) is None


@pytest.mark.parametrize("damage", ["cut", "tampered", "id"])
def test_a_damaged_link_changes_nothing(site: SignupSite, damage: str) -> None:
    """A cut, tampered or re-numbered link: 400 for GET and POST, nothing written."""
    site.post(READER)
    path = site.confirm_path(site.emails_to(READER)[0])
    token = path.rsplit("/", 1)[1]
    signup_id, expiry, signature = token.split(".")
    broken = {
        "cut": token[:-5],
        "tampered": f"{signup_id}.{int(expiry) + 86400}.{signature}",
        "id": f"{int(signup_id) + 1}.{expiry}.{signature}",
    }[damage]
    before = _rows(site)
    form_token = _form_token(site.client.get(path).text)
    assert site.client.get(f"/confirm/{broken}").status_code == 400
    answer = site.client.post(f"/confirm/{broken}", data={"form_token": form_token})
    assert answer.status_code == 400
    assert _rows(site) == before


def test_unconfirmed_sign_ups_are_purged_after_the_configured_time(site: SignupSite) -> None:
    """purge_pending deletes sign-ups older than 30 days, keeps newer ones."""
    site.post("old@example.com")
    site.clock.advance(timedelta(days=29))
    site.post("new@example.com")
    site.clock.advance(timedelta(days=2))
    signups_ = Signups(site.config, site.store, site.secret, mailer=_NoMail())
    assert signups_.purge_pending() == 1
    assert site.store.readers.pending_count() == 1


def test_a_purged_sign_up_s_link_changes_nothing(tmp_path: Path) -> None:
    """With signup.purge_pending_after_days 1: after the purge, the (unexpired) link is
    an invalid link (400) and nobody is subscribed."""
    site = make_signup_site(tmp_path, purge_pending_after_days=1)
    site.post(READER)
    path = site.confirm_path(site.emails_to(READER)[0])
    site.clock.advance(timedelta(days=2))
    assert Signups(site.config, site.store, site.secret, mailer=_NoMail()).purge_pending() == 1
    assert site.confirm(path).status_code == 400
    assert site.store.subscribers.get(READER) is None
    site.store.close()


def _form_token(html: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


class _NoMail:
    def send(self, message: object) -> bool:
        raise AssertionError("no mail expected")


def test_with_welcome_on_a_confirmed_reader_gets_the_latest_issue_once(tmp_path: Path) -> None:
    """signup.welcome: confirming sends the latest sent issue at once, personalised with
    the reader's own unsubscribe and preference links (no marker left in either part),
    recorded in the ledger under the issue's `welcome` send (accepted); confirming
    again sends nothing more."""
    from newsletter.message import build_issue_message
    from newsletter.states import SendState
    from tests.delivery_support import sample_rendered

    site = make_signup_site(tmp_path, welcome=True)
    issue = build_issue_message(sample_rendered(site.config), site.config, "weekly")
    site.store.issues.keep_sent_issue(issue)
    send = site.store.sends.open_send(
        issue_id=issue.issue_id,
        list_name="weekly",
        content_hash=issue.content_hash,
        message_hash=issue.message_hash,
        transport="outbox",
    )
    site.store.sends.finish_send(send.id, SendState.FINISHED, note=None)

    site.post(READER)
    path = site.confirm_path(site.emails_to(READER)[0])
    site.confirm(path)
    site.confirm(path)
    welcome = [m for m in site.emails_to(READER) if m["Subject"] == issue.subject]
    assert len(welcome) == 1
    assert f"{BASE}/unsubscribe/" in str(welcome[0]["List-Unsubscribe"])
    subscriber = site.store.subscribers.get(READER)
    assert subscriber is not None
    assert issue.preferences_placeholder
    for kind in ("plain", "html"):
        part = welcome[0].get_body((kind,))
        assert part is not None
        body = part.get_content()
        assert ".invalid/" not in body
        assert f"{BASE}/preferences/{subscriber.id}." in body
    record = site.store.sends.find_send(issue.issue_id, "welcome")
    assert record is not None and record.state == SendState.FINISHED
    assert site.store.sends.send_counts(record.id) == {"accepted": 1}
    site.store.close()


def test_without_welcome_nothing_but_the_confirmation_is_sent(site: SignupSite) -> None:
    """signup.welcome off (the default): the confirmation email is the only message."""
    site.post(READER)
    site.confirm(site.confirm_path(site.emails_to(READER)[0]))
    assert len(site.emails_to(READER)) == 1


def test_a_transport_that_cannot_send_leaves_the_answer_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SendGrid configured without its API key: the form still answers 'Check your
    inbox' (200, never a 500), the sign-up is stored, nothing is mailed."""
    from newsletter.config import Delivery

    monkeypatch.delenv("SENDGRID_API_KEY", raising=False)
    site = make_signup_site(tmp_path)
    delivery = Delivery.model_validate(
        {**site.config.delivery.model_dump(), "transport": "sendgrid"}
    )
    site.config = site.config.model_copy(update={"delivery": delivery})
    site.__post_init__()
    answer = site.post(READER)
    assert answer.status_code == 200
    assert "Check your inbox" in answer.text
    assert site.store.readers.pending_count() == 1
    site.store.close()
