"""The sign-up pages: GET/POST /subscribe and GET/POST /confirm/{token}.

Thin: the work is `newsletter.readers.Signups`; this module reads the form, applies
the abuse guards in this order and renders the answer (docs/readers.md lists them
with their limits):

1. per-IP rate limit (signup.rate_limit_per_ip_per_hour): 429 with Retry-After;
2. a post without our form token (the embeddable snippet on the publication's
   site) changes nothing: it is answered with our own form, the address filled in,
   to be sent from here;
3. Origin/Referer must be this site (403), the form token genuine and under two
   hours old (403, a fresh form);
4. the honeypot field filled in: answered like a success, nothing stored or sent;
5. posted sooner than signup.min_fill_seconds after the form was shown: the form
   again (400), to be sent once more;
6. a field at fault: the form again with the field's error (400);
7. per-address rate limit (`ADDRESS_POSTS_PER_HOUR`): answered like a success,
   nothing stored or sent; the store sends at most one confirmation email per
   address per hour in any case.

Every accepted form gets the same page, whatever the address's state.
GET never changes anything; POST /confirm/{token} confirms, from the Confirm page only
(its own form token; the page is served with no-referrer, as its URL is a credential).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response

from newsletter.config import Config
from newsletter.errors import FormRefusedError, SignupFieldError, TokenExpiredError
from newsletter.pages import PAGE_HEADERS, PERSONAL_HEADERS, Pages, mask_email
from newsletter.readers import SignupRequest, Signups, SlidingWindow
from newsletter.redaction import redacting_logger
from newsletter.secrets import Secret
from newsletter.store import ConfirmState, Store
from newsletter.web.forms import check_csrf, check_origin, csrf_token, form_age, origin_of

log = redacting_logger("newsletter.web")

SIGNUP_FORM = "signup"  # the form tokens' purposes
CONFIRM_FORM = "confirm"
HONEYPOT = "homepage"  # the field people never see and bots fill in
ADDRESS_POSTS_PER_HOUR = 5
MAX_FORM_BYTES = 16 * 1024  # a sign-up form is a few hundred bytes
MAX_FIELD = 1000  # characters of any one field
HOUR = 3600.0
SUBSCRIBE_HEADERS = {**PERSONAL_HEADERS, "Referrer-Policy": "same-origin"}


class SignupPages:
    """The handlers of the sign-up and confirmation pages."""

    def __init__(
        self,
        config: Config,
        store: Store,
        secret: Secret,
        signups: Signups,
        pages: Pages,
        clock: Callable[[], float],
    ) -> None:
        self.config = config
        self.store = store
        self.secret = secret
        self.signups = signups
        self.pages = pages
        self.clock = clock
        settings = config.signup
        self.per_ip = SlidingWindow(settings.rate_limit_per_ip_per_hour, HOUR)
        self.per_address = SlidingWindow(ADDRESS_POSTS_PER_HOUR, HOUR)

    def _page(
        self,
        template: str,
        status: int = 200,
        headers: Mapping[str, str] = PAGE_HEADERS,
        **ctx: Any,
    ) -> HTMLResponse:
        return HTMLResponse(self.pages.render(template, **ctx), status, headers=dict(headers))

    def _form(
        self,
        status: int = 200,
        *,
        email: str = "",
        name: str = "",
        chosen: tuple[str, ...] = (),
        errors: Mapping[str, str] | None = None,
        notice: str | None = None,
    ) -> HTMLResponse:
        offered = self.config.public_lists
        lists = [
            {
                "name": list_name,
                "description": self.config.lists[list_name].description or list_name,
                "checked": list_name in chosen or len(offered) == 1,
            }
            for list_name in offered
        ]
        token = csrf_token(self.secret, SIGNUP_FORM, self.store.clock.now())
        # The form names whoever typed the address in: no shared cache may keep it. Its
        # URL holds no token, so the referrer may stay on this site: browsers then send
        # a real Origin with the post (with no-referrer they send `Origin: null`).
        return self._page(
            "subscribe",
            status,
            SUBSCRIBE_HEADERS,
            form_token=token,
            email_value=email,
            name_value=name,
            lists=lists,
            consent_text=self.config.signup.consent_text,
            errors=dict(errors or {}),
            notice=notice,
            honeypot=HONEYPOT,
        )

    def _allowed_origins(self, request: Request) -> set[str]:
        own = {origin_of(str(request.base_url))}
        configured = self.config.publication.public_base_url
        if configured:
            own.add(origin_of(configured))
        return {origin for origin in own if origin}

    # ----------------------------------------------------------------- /subscribe

    async def form(self, request: Request) -> Response:
        return self._form()

    async def subscribe(self, request: Request) -> Response:
        client = request.client.host if request.client else "unknown"
        now = self.clock()
        if not self.per_ip.allow(client, now):
            retry = self.per_ip.retry_after(client, now)
            headers = {**PAGE_HEADERS, "Retry-After": str(retry)}
            return self._page("too_many", 429, headers, minutes=max(1, retry // 60))
        data = await _read_form(request)
        if data is None:
            return self._page("too_many", 413, PAGE_HEADERS, minutes=1, too_large=True)
        email = _field(data, "email")
        name = _field(data, "name")
        chosen = tuple(dict.fromkeys(v[:MAX_FIELD] for v in data.get("lists", []) if v))
        token = _field(data, "form_token")
        if not token:
            # The embeddable snippet (or a link): show our own form, nothing stored.
            return self._form(email=email, name=name, chosen=chosen)
        try:
            check_origin(
                request.headers.get("origin"),
                request.headers.get("referer"),
                self._allowed_origins(request),
            )
            age = form_age(token, self.secret, SIGNUP_FORM, self.store.clock.now())
        except FormRefusedError as err:
            log.info("sign-up form refused: %s", err.message)
            return self._form(
                err.status, email=email, name=name, chosen=chosen, notice=_REFUSED_NOTICE
            )
        if _field(data, HONEYPOT):
            log.info("sign-up form refused: the honeypot field was filled in")
            return self._sent()
        if age < self.config.signup.min_fill_seconds:
            return self._form(400, email=email, name=name, chosen=chosen, notice=_TOO_FAST)
        if _field(data, "consent") != "yes":
            errors = {"consent": "Please tick the box to agree, or the subscription cannot start."}
            return self._form(400, email=email, name=name, chosen=chosen, errors=errors)
        request_ = SignupRequest(email=email, name=name or None, lists=chosen, ip=client)
        try:
            normalised, _, _ = self.signups.check(request_)
        except SignupFieldError as err:
            errors = {err.field: err.message}
            return self._form(400, email=email, name=name, chosen=chosen, errors=errors)
        if not self.per_address.allow(normalised, now):
            log.info("sign-up form: per-address limit reached; nothing sent")
            return self._sent()
        outcome = await run_in_threadpool(self.signups.sign_up, request_)
        log.info("sign-up form accepted: %s", outcome.value)
        return self._sent()

    def _sent(self) -> HTMLResponse:
        # The one answer to every accepted form (see the module doc).
        return self._page("subscribe_sent", expiry_days=self.config.signup.confirm_expiry_days)

    # ----------------------------------------------------------------- /confirm

    async def confirm_page(self, request: Request) -> Response:
        token = request.path_params["token"]
        try:
            signup = await run_in_threadpool(self.signups.lookup, token)
        except TokenExpiredError:
            return self._expired()
        if signup is None:
            return self._page("confirm_invalid", 400, PERSONAL_HEADERS)
        if signup.confirmed or signup.email is None:
            return self._page("confirmed", headers=PERSONAL_HEADERS, again=True, lists=())
        return self._confirm_page(token, signup.email, signup.lists)

    def _confirm_page(
        self, token: str, email: str, lists: tuple[str, ...], *, status: int = 200
    ) -> HTMLResponse:
        return self._page(
            "confirm",
            status,
            PERSONAL_HEADERS,
            masked_email=mask_email(email),
            lists=self._descriptions(lists),
            action=token,
            form_token=csrf_token(self.secret, CONFIRM_FORM, self.store.clock.now()),
            notice=_REFUSED_NOTICE if status != 200 else None,
        )

    async def confirm(self, request: Request) -> Response:
        token = request.path_params["token"]
        data = await _read_form(request)
        try:
            signup = await run_in_threadpool(self.signups.lookup, token)
        except TokenExpiredError:
            return self._expired()
        if signup is None:
            return self._page("confirm_invalid", 400, PERSONAL_HEADERS)
        if signup.confirmed or signup.email is None:  # pressed twice: nothing to guard
            return self._page("confirmed", headers=PERSONAL_HEADERS, again=True, lists=())
        try:
            # The page is served with no-referrer (its URL is a credential), so a
            # browser's Origin is `null` here; the page's form token is the guard.
            check_origin(
                request.headers.get("origin"),
                request.headers.get("referer"),
                self._allowed_origins(request),
                allow_null=True,
            )
            form_token = _field(data or {}, "form_token")
            check_csrf(form_token, self.secret, CONFIRM_FORM, self.store.clock.now())
        except FormRefusedError as err:
            log.info("confirmation form refused: %s", err.message)
            return self._confirm_page(token, signup.email, signup.lists, status=403)
        try:
            done = await run_in_threadpool(self.signups.confirm, token)
        except TokenExpiredError:
            return self._expired()
        if done is None:
            return self._page("confirm_invalid", 400, PERSONAL_HEADERS)
        if done.state == ConfirmState.REFUSED:
            contact = self.config.sender.reply_to or self.config.sender.email
            return self._page("confirm_refused", 409, PERSONAL_HEADERS, contact=contact)
        return self._page(
            "confirmed",
            headers=PERSONAL_HEADERS,
            again=done.state == ConfirmState.ALREADY_CONFIRMED,
            lists=self._descriptions(done.lists),
        )

    def _expired(self) -> HTMLResponse:
        return self._page("confirm_expired", 410, PERSONAL_HEADERS, subscribe_url="../subscribe")

    def _descriptions(self, names: tuple[str, ...]) -> list[str]:
        lists = self.config.lists
        return [lists[n].description or n if n in lists else n for n in names]


_REFUSED_NOTICE = (
    "This form had expired or did not come from this site. Please check and press the button again."
)
_TOO_FAST = "That was quick! Please check your details and press Subscribe again."


async def _read_form(request: Request) -> dict[str, list[str]] | None:
    """The posted fields (application/x-www-form-urlencoded, as every form here and the
    snippet send them), or None when the body is larger than any sign-up form can be.
    Read with a cap, whatever Content-Length says; any other body has no fields."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_FORM_BYTES):
        return None
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                return None
    except ClientDisconnect:
        return {}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return {}
    try:
        pairs = parse_qsl(
            body.decode("utf-8", errors="replace"), keep_blank_values=True, max_num_fields=64
        )
    except ValueError:  # more fields than any sign-up form has
        return {}
    fields: dict[str, list[str]] = {}
    for key, value in pairs:
        fields.setdefault(key, []).append(value)
    return fields


def _field(data: Mapping[str, list[str]], name: str) -> str:
    values = data.get(name)
    return values[0].strip()[:MAX_FIELD] if values else ""
