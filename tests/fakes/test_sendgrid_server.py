"""The fake SendGrid server, driven by the real sendgrid-python client over 127.0.0.1."""

from __future__ import annotations

import copy
import gzip
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.error
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from python_http_client.exceptions import (
    BadRequestsError,
    ForbiddenError,
    HTTPError,
    InternalServerError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    ServiceUnavailableError,
    TooManyRequestsError,
    UnauthorizedError,
)
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Category,
    Content,
    CustomArg,
    From,
    Mail,
    MailSettings,
    Personalization,
    SandBoxMode,
    Substitution,
    To,
)

from .sendgrid_server import (
    MAIL_SPEC_FILE,
    SPEC_DIR_ENV,
    SUPPRESSIONS_SPEC_FILE,
    UNAUTHORIZED_MESSAGE,
    FakeSendGrid,
    Fault,
    SpecNotFoundError,
    mail_send_quick_check,
    mail_send_validator,
    response_validator,
    spec_dir,
    spec_missing_reason,
)

if spec_dir() is None:
    pytest.skip(spec_missing_reason(), allow_module_level=True)

KEY = "SG.test-key"
READ_ONLY_KEY = "SG.read-only"
GROUP = 4242
NOW = 1_800_000_000  # the fake's injected clock: send_at and rate-limit resets are exact
SENDER = "digest@astanatimes.example"
REPO_ROOT = Path(__file__).resolve().parents[2]

# --------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib honours proxy variables; 127.0.0.1 must never go through a proxy."""
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def sg() -> Iterator[FakeSendGrid]:
    with FakeSendGrid(
        KEY, asm_groups=[GROUP], forbidden_keys=[READ_ONLY_KEY], clock=lambda: NOW
    ) as server:
        yield server
    assert server.server_errors == []


def client_for(server: FakeSendGrid, key: str = KEY, timeout: float = 5.0) -> Any:
    api = SendGridAPIClient(key, host=server.url)
    api.client.timeout = timeout  # sendgrid-python has no default timeout
    return api


@pytest.fixture
def client(sg: FakeSendGrid) -> Any:
    return client_for(sg)


def digest_mail(recipients: list[str]) -> Mail:
    mail = Mail(from_email=From(SENDER, "The Astana Times"), subject="This week in Kazakhstan")
    for n, address in enumerate(recipients):
        personalization = Personalization()
        personalization.add_to(To(address))
        personalization.add_custom_arg(CustomArg("subscriber_id", str(n)))
        personalization.add_substitution(Substitution("-name-", f"Reader {n}"))
        # index=n appends: the default index=0 would reverse the order.
        mail.add_personalization(personalization, index=n)
    mail.add_content(Content("text/html", "<p>Hello -name-</p>"))
    mail.add_content(Content("text/plain", "Hello -name-"))
    mail.add_category(Category("digest"))
    mail.add_category(Category("2026-w47"))
    return mail


def valid_body(recipients: int = 2) -> dict[str, Any]:
    body: dict[str, Any] = digest_mail([f"reader{n}@example.com" for n in range(recipients)]).get()
    return body


def error_fields(exc: HTTPError) -> list[str | None]:
    errors = json.loads(exc.body)["errors"]
    assert all(set(error) == {"message", "field", "help"} for error in errors)
    return [error["field"] for error in errors]


def raw_request(
    server: FakeSendGrid, method: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# --------------------------------------------------------------------------- accepted sends


def test_normal_mail_is_accepted_and_recorded(sg: FakeSendGrid, client: Any) -> None:
    """A Mail with several personalizations, custom_args and categories gets 202 + X-Message-Id."""
    recipients = ["Alice@Example.com", "bob@example.com", "chen@example.com"]
    response = client.send(digest_mail(recipients))

    assert response.status_code == 202
    assert response.body == b""
    message_id = response.headers["X-Message-Id"]
    assert len(message_id) >= 20
    [record] = sg.accepted
    assert record.message_id == message_id
    assert record.body is not None
    assert sorted(record.body["categories"]) == ["2026-w47", "digest"]  # added in reverse
    assert record.body["personalizations"][2]["custom_args"] == {"subscriber_id": "2"}
    assert record.headers["authorization"] == f"Bearer {KEY}"
    assert record.time == NOW
    assert sg.accepted_recipients() == [r.lower() for r in recipients]
    assert sg.accepted_message_ids() == [message_id]


def test_message_ids_are_unique(sg: FakeSendGrid, client: Any) -> None:
    """Every accepted send gets its own X-Message-Id."""
    responses = [client.send(digest_mail([f"r{n}@example.com"])) for n in range(5)]
    ids = {response.headers["X-Message-Id"] for response in responses}
    assert len(ids) == 5


def test_message_level_custom_args_accepted(sg: FakeSendGrid, client: Any) -> None:
    """A message-level CustomArg (an object) passes: the spec's custom_args defect is patched."""
    mail = digest_mail(["reader@example.com"])
    mail.custom_arg = CustomArg("issue", "2026-47")
    assert mail.get()["custom_args"] == {"issue": "2026-47"}

    assert client.send(mail).status_code == 202
    assert sg.accepted[0].body is not None
    assert sg.accepted[0].body["custom_args"] == {"issue": "2026-47"}


def test_unpatched_spec_would_reject_message_level_custom_args() -> None:
    """The vendored spec itself types custom_args as a string, so the patch is needed."""
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped, unused-ignore]

    directory = spec_dir()
    assert directory is not None
    spec = json.loads((directory / MAIL_SPEC_FILE).read_text(encoding="utf-8"))
    uri = "urn:test:unpatched"
    registry: Registry[Any] = Registry().with_resource(
        uri, Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    pointer = "/components/requestBodies/PostMailSend/content/application~1json/schema"
    raw = Draft202012Validator({"$ref": f"{uri}#{pointer}"}, registry=registry)
    body = valid_body()
    body["custom_args"] = {"issue": "2026-47"}

    assert not raw.is_valid(body)
    assert mail_send_validator().is_valid(body)


def test_large_request_takes_the_fast_path(sg: FakeSendGrid, client: Any) -> None:
    """1000 personalizations are accepted, and the quick pre-check (not jsonschema) decides."""
    body = valid_body(1000)
    assert mail_send_quick_check()(body)

    assert client.send(body).status_code == 202
    assert len(sg.accepted_recipients()) == 1000


def test_gzip_body_is_accepted(sg: FakeSendGrid) -> None:
    """Mail Body Compression (Content-Encoding: gzip) is understood."""
    headers = {
        "Authorization": f"Bearer {KEY}",
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
    }
    payload = gzip.compress(json.dumps(valid_body()).encode())
    status, _ = raw_request(sg, "POST", "/v3/mail/send", payload, headers)
    assert status == 202
    assert sg.accepted_recipients() == ["reader0@example.com", "reader1@example.com"]


def test_sandbox_mode_returns_200_and_delivers_nothing(sg: FakeSendGrid, client: Any) -> None:
    """sandbox_mode.enable=true gets 200, no message id, and is recorded only as sandboxed."""
    mail = digest_mail(["reader@example.com"])
    mail.mail_settings = MailSettings(sandbox_mode=SandBoxMode(True))

    response = client.send(mail)

    assert response.status_code == 200
    assert "X-Message-Id" not in response.headers
    assert sg.accepted == []
    assert sg.accepted_recipients() == []
    assert [r.recipients for r in sg.sandboxed] == [("reader@example.com",)]


# --------------------------------------------------------------------------- 400s


def _many_recipients(body: dict[str, Any]) -> None:
    body["personalizations"] = [
        {"to": [{"email": f"to{n}@example.com"} for n in range(600)]},
        {
            "to": [{"email": "last@example.com"}],
            "cc": [{"email": f"cc{n}@example.com"} for n in range(400)],
        },
    ]


def _duplicate(body: dict[str, Any]) -> None:
    body["personalizations"][1]["to"][0]["email"] = "READER0@example.com"


def _html_first(body: dict[str, Any]) -> None:
    body["content"].reverse()


def _empty_value(body: dict[str, Any]) -> None:
    body["content"][0]["value"] = ""


def _far_send_at(body: dict[str, Any]) -> None:
    body["send_at"] = NOW + 72 * 3600 + 1


def _unknown_batch(body: dict[str, Any]) -> None:
    body["batch_id"] = "never-created"


def _reserved_header(body: dict[str, Any]) -> None:
    body["personalizations"][0]["headers"] = {"reply-to": "someone@example.com"}


def _big_substitutions(body: dict[str, Any]) -> None:
    body["personalizations"][0]["substitutions"] = {"-name-": "x" * 10_000}


def _eleven_categories(body: dict[str, Any]) -> None:
    body["categories"] = [f"c{n}" for n in range(11)]


def _non_ascii_category(body: dict[str, Any]) -> None:
    body["categories"] = ["дайджест"]


def _big_custom_args(body: dict[str, Any]) -> None:
    body["custom_args"] = {"blob": "x" * 9_990}  # fine alone, too big with personalization's


def _numeric_custom_arg(body: dict[str, Any]) -> None:
    body["personalizations"][0]["custom_args"] = {"subscriber_id": 7}


def _both_reply_tos(body: dict[str, Any]) -> None:
    body["reply_to"] = {"email": "desk@example.com"}
    body["reply_to_list"] = [{"email": "desk2@example.com"}]


def _unknown_group(body: dict[str, Any]) -> None:
    body["asm"] = {"group_id": GROUP + 1}


def _too_many_personalizations(body: dict[str, Any]) -> None:
    body["personalizations"] = [{"to": [{"email": f"p{n}@example.com"}]} for n in range(1001)]


def _no_from(body: dict[str, Any]) -> None:
    del body["from"]


def _bad_address(body: dict[str, Any]) -> None:
    body["personalizations"][0]["to"][0]["email"] = "not-an-address"


RULE_CASES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("1001-recipients", _many_recipients, "personalizations"),
    ("duplicate-address", _duplicate, "personalizations.1.to"),
    ("html-before-text", _html_first, "content"),
    ("empty-content-value", _empty_value, "content.0.value"),
    ("send_at-over-72h", _far_send_at, "send_at"),
    ("unknown-batch_id", _unknown_batch, "batch_id"),
    ("reserved-personalization-header", _reserved_header, "personalizations.0.headers"),
    ("oversize-substitutions", _big_substitutions, "personalizations.0.substitutions"),
    ("11-categories", _eleven_categories, "categories"),
    ("non-ascii-category", _non_ascii_category, "categories.0"),
    ("oversize-custom_args", _big_custom_args, "personalizations.0.custom_args"),
    ("non-string-custom_arg", _numeric_custom_arg, "personalizations.0.custom_args.subscriber_id"),
    ("reply_to-and-reply_to_list", _both_reply_tos, "reply_to"),
    ("unknown-asm-group", _unknown_group, "asm.group_id"),
    ("1001-personalizations", _too_many_personalizations, "personalizations"),
    ("missing-from", _no_from, "from"),
    ("invalid-address", _bad_address, "personalizations.0.to.0.email"),
]


@pytest.mark.parametrize(
    ("mutate", "field"), [case[1:] for case in RULE_CASES], ids=[case[0] for case in RULE_CASES]
)
def test_rule_violation_is_a_400_naming_the_field(
    sg: FakeSendGrid, client: Any, mutate: Callable[[dict[str, Any]], None], field: str
) -> None:
    """Each schema rule and each extra SendGrid rule gets a 400 whose errors name the field."""
    body = valid_body()
    mutate(body)

    with pytest.raises(BadRequestsError) as caught:
        client.send(body)

    assert field in error_fields(caught.value)
    assert sg.accepted == []
    [rejected] = sg.rejected
    assert field in rejected.fields()


def test_every_problem_is_listed(client: Any) -> None:
    """One 400 lists all problems found, schema errors and extra rules alike."""
    body = valid_body()
    _empty_value(body)
    _eleven_categories(body)
    _unknown_batch(body)

    with pytest.raises(BadRequestsError) as caught:
        client.send(body)

    assert {"content.0.value", "categories", "batch_id"} <= set(error_fields(caught.value))


def test_send_at_within_72h_and_known_asm_group_pass(sg: FakeSendGrid, client: Any) -> None:
    """The limits are inclusive: send_at exactly 72 h ahead and a configured group are fine."""
    body = valid_body()
    body["send_at"] = NOW + 72 * 3600
    body["asm"] = {"group_id": GROUP, "groups_to_display": [GROUP]}
    assert client.send(body).status_code == 202


def test_invalid_json_is_a_400(sg: FakeSendGrid) -> None:
    """A body that is not JSON gets 400 with the error list and is recorded as rejected."""
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    status, payload = raw_request(sg, "POST", "/v3/mail/send", b"{not json", headers)
    assert status == 400
    assert json.loads(payload)["errors"][0]["field"] is None
    assert [r.body for r in sg.rejected] == [None]


# --------------------------------------------------------------------------- 401 / 403 / 413 / 404


def test_wrong_key_is_401(sg: FakeSendGrid) -> None:
    """A wrong API key gets SendGrid's 401 body, which the client raises as UnauthorizedError."""
    with pytest.raises(UnauthorizedError) as caught:
        client_for(sg, key="SG.wrong").send(digest_mail(["reader@example.com"]))

    expected = {"errors": [{"message": UNAUTHORIZED_MESSAGE, "field": None, "help": None}]}
    assert json.loads(caught.value.body) == expected
    assert sg.accepted == []
    assert sg.requests_seen == 1


def test_forbidden_key_is_403(sg: FakeSendGrid) -> None:
    """A key configured as forbidden gets 403 (ForbiddenError)."""
    with pytest.raises(ForbiddenError):
        client_for(sg, key=READ_ONLY_KEY).send(digest_mail(["reader@example.com"]))


def test_oversize_body_is_413() -> None:
    """A body over max_body_bytes gets 413 (PayloadTooLargeError) and is not recorded."""
    with FakeSendGrid(KEY, max_body_bytes=4096) as server:
        mail = digest_mail(["reader@example.com"])
        mail.add_content(Content("text/html", "<p>" + "x" * 5000 + "</p>"))
        with pytest.raises(PayloadTooLargeError):
            client_for(server).send(mail)
        assert server.accepted == []
        assert server.rejected == []
        assert server.requests_seen == 1


def test_unknown_path_is_404_and_wrong_method_405(sg: FakeSendGrid, client: Any) -> None:
    """Unknown endpoints get a 404 JSON error; a known path with the wrong method gets 405."""
    with pytest.raises(NotFoundError) as caught:
        client.client.nothing.here.get()
    assert json.loads(caught.value.body)["errors"][0]["message"] == "not found"
    with pytest.raises(MethodNotAllowedError):
        client.client.mail.send.get()


# --------------------------------------------------------------------------- injected faults


def test_429_carries_retry_after_and_rate_limit_headers(sg: FakeSendGrid, client: Any) -> None:
    """fail_next(429) answers TooManyRequestsError with Retry-After and X-RateLimit-* headers."""
    sg.fail_next(1, 429, retry_after=7)

    with pytest.raises(TooManyRequestsError) as caught:
        client.send(digest_mail(["reader@example.com"]))

    headers = caught.value.headers
    assert headers["Retry-After"] == "7"
    assert headers["X-RateLimit-Remaining"] == "0"
    assert headers["X-RateLimit-Limit"] == "600"
    assert headers["X-RateLimit-Reset"] == str(NOW + 7)
    assert sg.accepted == []
    assert client.send(digest_mail(["reader@example.com"])).status_code == 202
    assert sg.requests_seen == 2


@pytest.mark.parametrize(
    ("status", "exception"),
    [(500, InternalServerError), (502, HTTPError), (503, ServiceUnavailableError)],
)
def test_5xx_fault(sg: FakeSendGrid, client: Any, status: int, exception: type[HTTPError]) -> None:
    """fail_next(status=5xx) answers that status with a JSON error (502 has no special class)."""
    sg.fail_next(1, status=status)

    with pytest.raises(HTTPError) as caught:
        client.send(digest_mail(["reader@example.com"]))

    assert type(caught.value) is exception
    assert caught.value.status_code == status
    assert json.loads(caught.value.body)["errors"][0]["field"] is None
    assert sg.accepted == []


def test_cut_after_accept_raises_remote_disconnected(sg: FakeSendGrid, client: Any) -> None:
    """cut_after_accept_next records the send, then the client gets RemoteDisconnected."""
    sg.cut_after_accept_next()

    with pytest.raises(http.client.RemoteDisconnected):
        client.send(digest_mail(["reader@example.com"]))

    assert sg.accepted_recipients() == ["reader@example.com"]
    assert [(entry.status, entry.fault) for entry in sg.log] == [(202, "cut")]


def test_cut_with_reset_raises_connection_reset(sg: FakeSendGrid, client: Any) -> None:
    """cut_after_accept_next(reset=True) sends an RST: a plain ConnectionResetError."""
    sg.cut_after_accept_next(reset=True)

    with pytest.raises(ConnectionResetError) as caught:
        client.send(digest_mail(["reader@example.com"]))

    assert not isinstance(caught.value, http.client.RemoteDisconnected)
    assert len(sg.accepted) == 1


def test_hang_makes_the_client_time_out(sg: FakeSendGrid) -> None:
    """hang_next records the send but answers late: a client with timeout=0.5 gets TimeoutError."""
    sg.hang_next(1, seconds=10)
    started = time.monotonic()

    with pytest.raises(TimeoutError):
        client_for(sg, timeout=0.5).send(digest_mail(["reader@example.com"]))

    assert time.monotonic() - started < 3
    assert sg.accepted_recipients() == ["reader@example.com"]


def test_stop_refuses_connections_and_restart_recovers(sg: FakeSendGrid, client: Any) -> None:
    """After stop() calls are refused (URLError of ConnectionRefusedError); restart() recovers."""
    port = sg.port
    sg.stop()

    with pytest.raises(urllib.error.URLError) as caught:
        client.send(digest_mail(["reader@example.com"]))
    assert isinstance(caught.value.reason, ConnectionRefusedError)

    sg.restart()
    assert sg.port == port
    assert client.send(digest_mail(["reader@example.com"])).status_code == 202


def test_server_dies_mid_send(sg: FakeSendGrid, client: Any) -> None:
    """A die fault drops the request unanswered and every later connection is refused."""
    sg.on_request(lambda n: Fault.die() if n == 2 else None)
    client.send(digest_mail(["first@example.com"]))

    with pytest.raises(http.client.RemoteDisconnected):
        client.send(digest_mail(["second@example.com"]))
    with pytest.raises(urllib.error.URLError):
        client.send(digest_mail(["third@example.com"]))

    assert not sg.running
    assert sg.accepted_recipients() == ["first@example.com"]


def test_hook_fails_every_third_request(sg: FakeSendGrid, client: Any) -> None:
    """on_request(hook) applies the Fault the hook returns, here 503 on every 3rd send."""
    sg.on_request(lambda n: Fault.http(503) if n % 3 == 0 else None)
    outcomes = []
    for n in range(6):
        try:
            outcomes.append(client.send(digest_mail([f"r{n}@example.com"])).status_code)
        except ServiceUnavailableError as exc:
            outcomes.append(exc.status_code)

    assert outcomes == [202, 202, 503, 202, 202, 503]
    assert len(sg.accepted) == 4


def test_faults_only_hit_matching_paths(sg: FakeSendGrid, client: Any) -> None:
    """Faults target /v3/mail/send by default, so other endpoints pass untouched."""
    sg.fail_next(1, 500)
    assert client.client.mail.batch.post().status_code == 201
    assert len(sg.pending_faults()) == 1
    sg.clear_faults()
    assert client.send(digest_mail(["reader@example.com"])).status_code == 202


def test_latency_delays_each_request(sg: FakeSendGrid, client: Any) -> None:
    """latency(seconds) delays every answer by at least that long."""
    sg.latency(0.2)
    started = time.monotonic()
    client.send(digest_mail(["reader@example.com"]))
    assert time.monotonic() - started >= 0.2


# --------------------------------------------------------------------------- batches


def test_batch_and_scheduled_send_cancel(sg: FakeSendGrid, client: Any) -> None:
    """A batch is created, used by a scheduled send, cancelled, inspected and un-cancelled."""
    created = client.client.mail.batch.post()
    assert created.status_code == 201
    batch_id = json.loads(created.body)["batch_id"]
    assert client.client.mail.batch._(batch_id).get().status_code == 200
    with pytest.raises(BadRequestsError):
        client.client.mail.batch._("no-such-batch").get()

    body = valid_body()
    body.update(batch_id=batch_id, send_at=NOW + 3600)
    assert client.send(body).status_code == 202

    cancel = {"batch_id": batch_id, "status": "cancel"}
    response = client.client.user.scheduled_sends.post(request_body=cancel)
    assert response.status_code == 201
    assert json.loads(response.body) == cancel
    shown = client.client.user.scheduled_sends._(batch_id).get()
    assert json.loads(shown.body) == [cancel]
    assert sg.cancellations == [batch_id]

    assert client.client.user.scheduled_sends._(batch_id).delete().status_code == 204
    assert sg.scheduled_sends == {}


# --------------------------------------------------------------------------- suppressions


def test_suppression_paging_with_limit_and_offset(sg: FakeSendGrid, client: Any) -> None:
    """Bounces page through limit/offset in insertion order, in the spec's response shape."""
    emails = [f"bounced{n}@example.com" for n in range(7)]
    for n, email in enumerate(emails):
        sg.add_bounce(email, created=NOW - n)
    validator = response_validator(SUPPRESSIONS_SPEC_FILE, "/v3/suppression/bounces")

    pages = []
    for offset in (0, 3, 6, 9):
        response = client.client.suppression.bounces.get(
            query_params={"limit": 3, "offset": offset}
        )
        page = json.loads(response.body)
        validator.validate(page)
        pages.append([row["email"] for row in page])

    assert pages == [emails[0:3], emails[3:6], emails[6:7], []]
    assert set(json.loads(client.client.suppression.bounces.get().body)[0]) == {
        "created", "email", "reason", "status"
    }  # fmt: skip


def test_suppression_filters_and_bad_limit(sg: FakeSendGrid, client: Any) -> None:
    """start_time/end_time and the email prefix filter apply; limit over 500 is a 400."""
    sg.add_global_unsubscribe("old@example.com", created=NOW - 100)
    sg.add_global_unsubscribe("new@example.com", created=NOW)
    recent = client.client.suppression.unsubscribes.get(query_params={"start_time": NOW - 10})
    assert [row["email"] for row in json.loads(recent.body)] == ["new@example.com"]
    by_email = client.client.suppression.unsubscribes.get(query_params={"email": "old"})
    assert [row["email"] for row in json.loads(by_email.body)] == ["old@example.com"]

    with pytest.raises(BadRequestsError) as caught:
        client.client.suppression.unsubscribes.get(query_params={"limit": 501})
    assert error_fields(caught.value) == ["limit"]


def test_every_suppression_list_matches_the_spec(sg: FakeSendGrid, client: Any) -> None:
    """Each list endpoint answers in the shape tsg_suppressions_v3.json documents."""
    sg.add_bounce("b@example.com")
    sg.add_block("k@example.com")
    sg.add_spam_report("s@example.com")
    sg.add_global_unsubscribe("u@example.com")
    sg.add_invalid_email("i@example.com")
    sg.add_group_suppression(GROUP, "g@example.com")

    lists = ["bounces", "blocks", "spam_reports", "unsubscribes", "invalid_emails"]
    for name in lists:
        rows = json.loads(getattr(client.client.suppression, name).get().body)
        response_validator(SUPPRESSIONS_SPEC_FILE, f"/v3/suppression/{name}").validate(rows)
        assert len(rows) == 1

    group_path = "/v3/asm/groups/{group_id}/suppressions"
    members = json.loads(client.client.asm.groups._(GROUP).suppressions.get().body)
    response_validator(SUPPRESSIONS_SPEC_FILE, group_path).validate(members)
    assert members == ["g@example.com"]
    groups = json.loads(client.client.asm.groups.get().body)
    response_validator(SUPPRESSIONS_SPEC_FILE, "/v3/asm/groups").validate(groups)
    assert groups[0]["unsubscribes"] == 1


# --------------------------------------------------------------------------- the pre-check


def _rich_body() -> dict[str, Any]:
    """A valid body that sets every documented property, so mutations reach all of them."""
    address = {"email": "a@example.com", "name": "A"}
    return {
        "personalizations": [
            {
                "to": [address],
                "cc": [{"email": "c@example.com"}],
                "bcc": [{"email": "b@example.com"}],
                "from": {"email": "f@example.com"},
                "subject": "s",
                "headers": {"X-Issue": "47"},
                "substitutions": {"-n-": "v"},
                "dynamic_template_data": {"k": [1, 2]},
                "custom_args": {"k": "v"},
                "send_at": NOW,
            }
        ],
        "from": address,
        "reply_to": address,
        "reply_to_list": [address, {"email": "r@example.com"}],
        "subject": "subject",
        "content": [{"type": "text/plain", "value": "t"}, {"type": "text/html", "value": "h"}],
        "attachments": [{"content": "QQ==", "filename": "a.txt", "type": "text/plain",
                         "disposition": "inline", "content_id": "cid"}],
        "template_id": "d-1",
        "headers": {"X-A": "b"},
        "categories": ["a", "b"],
        "custom_args": {"k": "v"},
        "send_at": NOW,
        "batch_id": "batch",
        "asm": {"group_id": 1, "groups_to_display": [1, 2]},
        "ip_pool_name": "pool",
        "mail_settings": {name: {"enable": True} for name in (
            "bypass_list_management", "bypass_spam_management", "bypass_bounce_management",
            "bypass_unsubscribe_management", "sandbox_mode")} | {
            "footer": {"enable": True, "text": "t", "html": "h"}},
        "tracking_settings": {
            "click_tracking": {"enable": True, "enable_text": False},
            "open_tracking": {"enable": True, "substitution_tag": "%o%"},
            "subscription_tracking": {"enable": True, "text": "t", "html": "h",
                                      "substitution_tag": "%s%"},
            "ganalytics": {"enable": True, "utm_source": "s", "utm_medium": "m",
                           "utm_term": "t", "utm_content": "c", "utm_campaign": "c"},
        },
    }  # fmt: skip


_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([1.0, 0.5, 2.0**31, 10_001]),
    st.sampled_from(["", "a", "a@example.com", "text/plain", "text/html", "inline", "x" * 300]),
)
_KEYS = st.sampled_from(["email", "name", "type", "value", "to", "enable", "group_id", "k", "x"])
_JSON = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if prefix:
        yield prefix
    if isinstance(node, dict):
        children: Iterable[tuple[Any, Any]] = node.items()
    elif isinstance(node, list):
        children = enumerate(node)
    else:
        return
    for key, child in children:
        yield from _paths(child, (*prefix, key))


@st.composite
def _mutated_bodies(draw: st.DrawFn) -> Any:
    body: Any = copy.deepcopy(_rich_body())
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(body))))
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(_KEYS)] = draw(_JSON)
        else:
            parent[path[-1]] = draw(_JSON)
    return body


def test_quick_check_accepts_valid_bodies() -> None:
    """The pre-check passes real bodies, so valid sends skip the slow jsonschema run."""
    quick = mail_send_quick_check()
    assert quick(_rich_body())
    assert quick(valid_body())
    assert mail_send_validator().is_valid(_rich_body())


@settings(
    max_examples=300,
    deadline=None,
    database=None,  # leave no .hypothesis/ directory behind
    suppress_health_check=[HealthCheck.too_slow],
)
@given(_mutated_bodies())
def test_quick_check_never_accepts_what_jsonschema_rejects(body: Any) -> None:
    """Differential check: whenever the fast pre-check passes a body, jsonschema passes it too."""
    if mail_send_quick_check()(body):
        assert mail_send_validator().is_valid(body)


# --------------------------------------------------------------------------- spec & CLI


def test_missing_spec_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without the spec, spec_dir() is None, the reason names the path, and the server refuses."""
    monkeypatch.setenv(SPEC_DIR_ENV, str(tmp_path))

    assert spec_dir() is None
    assert str(tmp_path) in spec_missing_reason()
    assert SPEC_DIR_ENV in spec_missing_reason()
    with pytest.raises(SpecNotFoundError):
        FakeSendGrid(KEY)


def test_cli_prints_url_and_serves() -> None:
    """`python -m tests.fakes.sendgrid_server --port 0` prints a URL the client can use."""
    env = {**os.environ, SPEC_DIR_ENV: str(spec_dir())}
    command = [sys.executable, "-m", "tests.fakes.sendgrid_server", "--port", "0"]
    command += ["--api-key", KEY]
    with subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:")
            api = SendGridAPIClient(KEY, host=url)
            api.client.timeout = 5
            assert api.send(digest_mail(["reader@example.com"])).status_code == 202
        finally:
            process.terminate()
            _, stderr = process.communicate(timeout=10)
    assert "accepted=1" in stderr
