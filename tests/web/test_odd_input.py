"""Odd input gets a 4xx, never a 500: named cases, then arbitrary requests at every route."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.secrets import Secret
from newsletter.tokens import UNSUBSCRIBE, _signature
from tests.feedback.signing import Signer
from tests.web.asgi import call, run
from tests.web.support import NOW, SECRET, Site, make_site, sendgrid_event

SIGNER = Signer.new()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    made = make_site(tmp_path, SIGNER)
    made.subscribe(2)
    made.open_send()
    yield made
    made.store.close()


def post_signed(site: Site, body: bytes) -> int:
    answer = site.client.post(
        "/webhooks/sendgrid", content=body, headers=site.signer.sign(body, NOW)
    )
    return answer.status_code


def test_400_digit_timestamp_unauthenticated_is_403(site: Site) -> None:
    """A timestamp header of 400 digits is refused as malformed (it used to overflow a float)."""
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": "c2ln",
        "X-Twilio-Email-Event-Webhook-Timestamp": "9" * 400,
    }
    answer = site.client.post("/webhooks/sendgrid", content=b"[]", headers=headers)
    assert answer.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'[{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"]",
    ],
    ids=["arrays 100,000 deep", "objects 50,000 deep"],
)
def test_signed_deeply_nested_body_is_400(site: Site, body: bytes) -> None:
    """JSON nested deeper than the parser allows is malformed input, not a RecursionError."""
    assert post_signed(site, body) == 400


@pytest.mark.parametrize(
    "field",
    [
        '"timestamp": 1e400',
        '"timestamp": -1e400',
        '"timestamp": NaN',
        '"timestamp": Infinity',
        '"timestamp": 1.5',
        '"timestamp": true',
        '"timestamp": "1e5"',
        '"timestamp": ' + "9" * 4000,
        '"timestamp": ' + "9" * 5000,
        '"subscriber_id": 1e400',
        '"subscriber_id": NaN',
        '"subscriber_id": [1]',
    ],
)
def test_signed_odd_numbers_are_400(site: Site, field: str) -> None:
    """Numbers JSON or SendGrid would not send (NaN, Infinity, 1e400, fractions, booleans,
    thousands of digits) make the batch malformed: 400, nothing applied."""
    event = sendgrid_event("reader00001@example.com", "delivered", "n1", issue="2025-09-12",
                           list="weekly", subscriber_id="1")  # fmt: skip
    key = field.split(":")[0].strip('"')
    del event[key]
    text = json.dumps([event])[:-2] + ", " + field + "}]"
    assert post_signed(site, text.encode()) == 400


def test_signed_text_with_controls_is_stored_inert(site: Site) -> None:
    """NUL, escape sequences, lone surrogates and bidi controls in provider text are dropped at
    ingestion: the batch is applied (200), the stored reason is plain text."""
    reason = "550 5.1.1 \x1b[31mno such user\x00\u202e\r\n  gone\ud800"
    event = sendgrid_event("reader00001@example.com\x00", "bounce", "c1\x00", type="bounce",
                           reason=reason, issue="2025-09-12\x1b", list="weekly",
                           subscriber_id="1")  # fmt: skip
    body = json.dumps([event]).encode()
    assert post_signed(site, body) == 200
    found = site.store.subscribers.get("reader00001@example.com")
    assert found is not None and found.status_reason == "bounce: 550 5.1.1 [31mno such user gone"


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("subscriber_id", [2**63, 10**19 - 1, 2**63 - 1])
def test_token_beyond_bigint_is_the_invalid_link_page(
    site: Site, method: str, subscriber_id: int
) -> None:
    """A correctly signed token for an id past (or at) BIGINT's end gets the uniform 400 page."""
    secret = Secret("NEWSLETTER_SECRET", SECRET)
    token = f"{subscriber_id}.{_signature(subscriber_id, UNSUBSCRIBE, secret)}"
    expected = site.client.get("/unsubscribe/1.bad").text
    for path in (f"/unsubscribe/{token}", f"/resubscribe/{token}"):
        if method == "GET" and path.startswith("/resubscribe"):
            continue
        answer = site.client.request(method, path)
        assert (answer.status_code, answer.text) == (400, expected)


# --------------------------------------------------------------------------- arbitrary requests

ROUTES = ["/unsubscribe/", "/resubscribe/", "/webhooks/sendgrid", "/archive/", "/feed.xml",
          "/healthz", "/", ""]  # fmt: skip
HEADER_NAMES = ["content-type", "content-length", "host", "x-forwarded-proto", "cookie",
                "x-twilio-email-event-webhook-signature", "x-twilio-email-event-webhook-timestamp",
                "transfer-encoding", "accept", "range"]  # fmt: skip
paths = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(ROUTES),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40),
)
headers = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(HEADER_NAMES), st.binary(min_size=1, max_size=20)).map(
            lambda n: n if isinstance(n, bytes) else n.encode()
        ),
        st.one_of(st.binary(max_size=60), st.text(max_size=60).map(lambda t: t.encode())),
    ),
    max_size=6,
)
bodies = st.one_of(
    st.binary(max_size=300),
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=12,
    ).map(lambda v: json.dumps(v).encode()),
)
HOSTS = [b"news.example.com", b"127.0.0.1:8000", b"evil.example", b"", b"[::1", b"\xff\xfe"]


def test_arbitrary_requests_never_get_a_5xx() -> None:
    """Any method, path, headers and body at every route, signed or not: never a 5xx (the
    store is available here, so not even the documented 503)."""
    with tempfile.TemporaryDirectory() as folder:
        site = make_site(Path(folder), SIGNER)
        site.subscribe(1)
        app = site.client.app

        @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            method=st.sampled_from(["GET", "POST", "HEAD", "PUT", "OPTIONS", "DELETE", "BREW"]),
            path=paths,
            extra=headers,
            body=bodies,
            host=st.sampled_from(HOSTS),
            signed=st.booleans(),
        )
        def check(
            method: str,
            path: str,
            extra: list[tuple[bytes, bytes]],
            body: bytes,
            host: bytes,
            signed: bool,
        ) -> None:
            pairs = [(name.lower(), value) for name, value in extra]
            if signed:
                stamp = SIGNER.sign(body, NOW)
                pairs += [(k.lower().encode(), v.encode()) for k, v in stamp.items()]
            reply = run(call(app, method, path or "/", pairs, [body], host=host))
            assert reply.status < 500, (method, path, pairs, body, reply.status)

        check()
        site.store.close()
