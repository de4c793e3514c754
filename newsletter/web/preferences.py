"""The preference page and the change-of-address confirmation, over HTTP.

    GET  /preferences/{token}          the reader's page (reads only)
    POST /preferences/{token}          action=lists | pause | resume | change-address |
                                       unsubscribe
    GET  /preferences/{token}/erase    "delete my data?" (reads only)
    POST /preferences/{token}/erase    erase now
    GET  /confirm-address/{token}      a Confirm button (link scanners change nothing)
    POST /confirm-address/{token}      the new address replaces the old

Every POST carries the page's CSRF token (newsletter.web.forms: a hidden field, signed
for this reader's page and valid for `CSRF_MAX_AGE`) and is refused when an `Origin`
header names another site. The pages send `Referrer-Policy: no-referrer`, under which browsers post
`Origin: null` (Fetch standard), so the token, not the header, is what proves the form
is ours. Bodies are capped at `MAX_FORM_BYTES`. Any bad link is the one neutral 400
page, so nobody learns from it who is subscribed. The work runs in the thread pool
through `newsletter.api.ReaderPreferences`; nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from newsletter.api import ReaderPreferences
from newsletter.config import Config
from newsletter.errors import (
    AddressError,
    BaseNewsletterError,
    FormRefusedError,
    InputError,
    SuppressedError,
)
from newsletter.pages import PERSONAL_HEADERS, Pages, mask_email
from newsletter.redaction import redacting_logger
from newsletter.secrets import Secret
from newsletter.store import Store, Subscriber
from newsletter.web.forms import check_csrf, check_origin, csrf_token, origin_of

log = redacting_logger("newsletter.web")

MAX_FORM_BYTES = 8 * 1024  # a few checkboxes and an address: far below this
CSRF_MAX_AGE = timedelta(hours=24)  # a page left open a day must be reloaded to post
ACTIONS = ("lists", "pause", "resume", "change-address", "unsubscribe")


async def read_form(request: Request) -> dict[str, list[str]]:
    """The urlencoded body of a form post, at most MAX_FORM_BYTES (FormRefusedError 413/400)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise FormRefusedError("this form is too large", status=413)
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                raise FormRefusedError("this form is too large", status=413)
    except ClientDisconnect as err:
        raise FormRefusedError("the form did not arrive whole", status=400) from err
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise FormRefusedError("the form is not UTF-8 text", status=400) from err
    return parse_qs(text, keep_blank_values=True, max_num_fields=64)


def _one(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name) or [""]
    return values[0]


class _TimeOf:
    """The web's clock (seconds, as the webhook reads it) as a Clock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)


class PreferencePages:
    """The handlers of the routes above, over one store, secret and set of pages."""

    def __init__(
        self,
        config: Config,
        store: Store,
        secret: Secret,
        pages: Pages,
        clock: Callable[[], float],
        writes: AbstractContextManager[object],
    ) -> None:
        self.config = config
        self.secret = secret
        self.pages = pages
        self.clock = _TimeOf(clock)
        self.writes = writes
        self.readers = ReaderPreferences(config, store, secret)

    # -- helpers -----------------------------------------------------------------

    def _page(self, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        return HTMLResponse(self.pages.render(name, **ctx), status, headers=PERSONAL_HEADERS)

    def _invalid_link(self) -> HTMLResponse:
        return self._page("link_invalid", 400)

    def _refused(self, refusal: FormRefusedError) -> HTMLResponse:
        return self._page("form_refused", refusal.status, message=refusal.message)

    def _purpose(self, subscriber: Subscriber) -> str:
        return f"preferences:{subscriber.id}"

    def _check_origin(self, request: Request) -> None:
        """An Origin naming another site is refused. These pages are served with
        `Referrer-Policy: no-referrer` (their URL holds the reader's token), under which
        browsers post `Origin: null`: that, and no Origin at all, leave the decision to
        the form's CSRF token, as on the sign-up's Confirm page."""
        own = {origin_of(str(request.base_url))}
        configured = self.config.publication.public_base_url
        if configured:
            own.add(origin_of(configured))
        check_origin(
            request.headers.get("origin"),
            request.headers.get("referer"),
            {origin for origin in own if origin},
            allow_null=True,
        )

    async def _checked_form(self, request: Request, purpose: str) -> dict[str, list[str]]:
        self._check_origin(request)
        form = await read_form(request)
        check_csrf(_one(form, "csrf"), self.secret, purpose, self.clock.now(), max_age=CSRF_MAX_AGE)
        return form

    def _show(
        self, token: str, subscriber: Subscriber, status: int = 200, **notes: Any
    ) -> HTMLResponse:
        view = self.readers.view(subscriber)
        return self._page(
            "preferences",
            status,
            view=view,
            masked_email=mask_email(view.email),
            csrf=csrf_token(self.secret, self._purpose(subscriber), self.clock.now()),
            action=token,
            erase_url=f"{token}/erase",
            notice=notes.get("notice"),
            error=notes.get("error"),
            new_email=notes.get("new_email", ""),
        )

    # -- the preference page ----------------------------------------------------------

    async def page(self, request: Request) -> Response:
        token = request.path_params["token"]
        subscriber = await run_in_threadpool(self.readers.lookup, token)
        if subscriber is None:
            return self._invalid_link()
        return await run_in_threadpool(self._show, token, subscriber)

    async def change(self, request: Request) -> Response:
        token = request.path_params["token"]
        subscriber = await run_in_threadpool(self.readers.lookup, token)
        if subscriber is None:
            return self._invalid_link()
        try:
            form = await self._checked_form(request, self._purpose(subscriber))
        except FormRefusedError as refusal:
            return self._refused(refusal)
        action = _one(form, "action")
        if action not in ACTIONS:
            unknown = FormRefusedError("this form asked for nothing we know", status=400)
            return self._refused(unknown)
        return await run_in_threadpool(self._apply, token, subscriber, action, form)

    def _apply(
        self, token: str, subscriber: Subscriber, action: str, form: dict[str, list[str]]
    ) -> Response:
        try:
            with self.writes:
                notice = self._do(subscriber, action, form)
        except InputError as err:
            # A bad choice or address: the page again, with the problem by the field.
            new_email = _one(form, "email")[:254] if action == "change-address" else ""
            status = 409 if isinstance(err, SuppressedError) else 400
            return self._show(token, subscriber, status, error=err.message, new_email=new_email)
        except BaseNewsletterError as err:
            # The transport or its settings failed (the request is kept): the reader is
            # told to come back, the operator reads why in the log; no detail on the page.
            log.error("preferences of subscriber %s: %s failed: %s", subscriber.id, action, err)
            return self._page("unavailable", 503)
        log.info("preferences of subscriber %s: %s", subscriber.id, action)
        fresh = self.readers.lookup(token) or subscriber
        return self._show(token, fresh, notice=notice)

    def _do(self, subscriber: Subscriber, action: str, form: dict[str, list[str]]) -> str:
        if action == "lists":
            chosen = self.readers.choose_lists(subscriber, set(form.get("list", [])))
            return f"Saved: you receive {', '.join(chosen)}." if chosen else "Saved: no lists."
        if action == "pause":
            weeks = _one(form, "weeks")
            if not weeks.isdigit() or len(weeks) > 2:
                raise InputError("choose how many weeks to pause")
            until = self.readers.pause(subscriber, int(weeks))
            return f"Paused: no issues until {until:%-d %B %Y}." if until else "Resumed."
        if action == "resume":
            self.readers.pause(subscriber, None)
            return "Resumed: you will receive the next issue."
        if action == "change-address":
            address = _one(form, "email").strip()
            if not address:
                raise InputError("enter the new address")
            try:
                self.readers.request_address_change(subscriber, address)
            except AddressError as err:
                # The validator's own words quote the input and name code points: the
                # page says what is wanted in one line, as the sign-up form does.
                raise InputError(
                    "Please enter a complete email address, like name@example.com."
                ) from err
            return (
                "Almost done: we sent a link to the new address. The change happens when "
                "you open it and press Confirm."
            )
        self.readers.unsubscribe(subscriber)
        return "You are unsubscribed from everything."

    # -- erasure ------------------------------------------------------------------------

    async def erase_page(self, request: Request) -> Response:
        token = request.path_params["token"]
        subscriber = await run_in_threadpool(self.readers.lookup, token)
        if subscriber is None:
            return self._invalid_link()
        return self._page(
            "erase_confirm",
            masked_email=mask_email(subscriber.email),
            csrf=csrf_token(self.secret, self._purpose(subscriber), self.clock.now()),
            action="erase",
            back="../" + token,
        )

    async def erase(self, request: Request) -> Response:
        token = request.path_params["token"]
        subscriber = await run_in_threadpool(self.readers.lookup, token)
        if subscriber is None:
            return self._invalid_link()
        try:
            await self._checked_form(request, self._purpose(subscriber))
        except FormRefusedError as refusal:
            return self._refused(refusal)

        def erase() -> None:
            with self.writes:
                self.readers.erase(subscriber)

        await run_in_threadpool(erase)
        return self._page("erased")

    # -- confirming a new address ----------------------------------------------------------

    async def confirm_page(self, request: Request) -> Response:
        token = request.path_params["token"]
        change = await run_in_threadpool(self.readers.address_change, token)
        if change is None:
            return self._invalid_link()
        return self._page(
            "confirm_address",
            masked_email=mask_email(change.new_email),
            csrf=csrf_token(self.secret, f"confirm-address:{change.id}", self.clock.now()),
            action=token,
        )

    async def confirm(self, request: Request) -> Response:
        token = request.path_params["token"]
        change = await run_in_threadpool(self.readers.address_change, token)
        if change is None:
            # Confirmed already (or never genuine): harmless, and the same neutral page.
            return self._page("address_confirmed", masked_email=None)
        try:
            await self._checked_form(request, f"confirm-address:{change.id}")
        except FormRefusedError as refusal:
            return self._refused(refusal)

        def confirm() -> Subscriber | None:
            with self.writes:
                return self.readers.confirm_address_change(token)

        try:
            done = await run_in_threadpool(confirm)
        except SuppressedError as err:
            return self._refused(FormRefusedError(err.message, status=409))
        if done is None:
            return self._invalid_link()
        log.info("subscriber %s confirmed a new address", done.id)
        return self._page("address_confirmed", masked_email=mask_email(done.email))


def preference_routes(handlers: PreferencePages) -> list[Route]:
    return [
        Route("/preferences/{token}", handlers.page, methods=["GET"]),
        Route("/preferences/{token}", handlers.change, methods=["POST"]),
        Route("/preferences/{token}/erase", handlers.erase_page, methods=["GET"]),
        Route("/preferences/{token}/erase", handlers.erase, methods=["POST"]),
        Route("/confirm-address/{token}", handlers.confirm_page, methods=["GET"]),
        Route("/confirm-address/{token}", handlers.confirm, methods=["POST"]),
    ]
