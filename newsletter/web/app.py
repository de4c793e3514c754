"""The ASGI app behind `newsletter serve`: unsubscribe pages, SendGrid webhook, archive.

Handlers are thin: they read the request, run the synchronous work of
`unsubscribe`, `webhook` and `archive` in Starlette's thread pool (the store is
synchronous, and SQLite waits for its write lock there, never in the event
loop), and turn the result into a response. Every write is committed before
the answer is sent.

    GET  /unsubscribe/{token}   confirm page (GET never unsubscribes: scanners follow links)
    POST /unsubscribe/{token}   unsubscribe now (RFC 8058 one-click, or the page's button)
    POST /resubscribe/{token}   undo an unsubscribe
    GET  /subscribe             the sign-up form (POST: sign up; see newsletter.web.signup)
    GET  /confirm/{token}       a sign-up's Confirm button (POST /confirm/{token}: confirm)
    GET  /unsubscribe/          how to unsubscribe (the archive's non-personal link)
    POST /webhooks/sendgrid     SendGrid's signed Event Webhook
    GET  /archive/, /archive/{issue}/, /feed.xml   the public archive
    GET  /reports/, /reports/{issue}   how an issue did; only with NEWSLETTER_REPORT_TOKEN
                                as a bearer token (unset: no such route, 404)
    GET  /healthz               for the process manager
    GET/POST /preferences/{token}, /confirm-address/{token}   a reader's own choices
                                (newsletter.web.preferences)
"""

from __future__ import annotations

import hmac
import re
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Match, Route, Router

from newsletter.config import Config
from newsletter.errors import InputError, StoreError
from newsletter.feedback import SIGNATURE_HEADER, TIMESTAMP_HEADER, PublicKey, load_public_key
from newsletter.pages import PAGE_HEADERS, PERSONAL_HEADERS, Archive, Pages, mask_email
from newsletter.readers import Mailer, Signups, TransportMailer
from newsletter.redaction import redacting_logger
from newsletter.report import REPORT_HEADERS, build_report, newest_issue, report_page
from newsletter.secrets import Secret, report_token, signing_secret
from newsletter.store import Store
from newsletter.web.bodies import BodyLimits, Refusal
from newsletter.web.preferences import PreferencePages, preference_routes
from newsletter.web.signup import SignupPages
from newsletter.web.unsubscribe import Links
from newsletter.web.webhook import Answer, SendGridWebhook

log = redacting_logger("newsletter.web")  # no token or URL password reaches a handler

# The web version of an issue is the email: its images come from the publication's site.
ISSUE_HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": (
        "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
}


ISSUE_ID = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# RFC 6750 §3: what a client without (or with a wrong) token is told.
REPORT_CHALLENGE = {**REPORT_HEADERS, "WWW-Authenticate": 'Bearer realm="reports"'}


def bearer_matches(authorization: str | None, token: Secret) -> bool:
    """Whether an Authorization header carries `token` as a bearer token (RFC 6750 §2.1;
    the scheme's case does not matter). Compared in constant time, so the answer's
    timing says nothing about how much of a guess was right."""
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.reveal().encode())


def _write_queue(store: Store) -> AbstractContextManager[object]:
    """On SQLite, the app's writes take turns on a lock. SQLite's own busy handler makes a
    waiting writer sleep in growing steps (up to 100 ms) however soon the lock frees; a
    thread waiting here is woken the moment the previous write commits. Other processes
    (dispatch) still meet SQLite's busy timeout. PostgreSQL needs no such queue."""
    return threading.Lock() if store.dialect == "sqlite" else nullcontext()


class Handlers:
    """The route handlers, sharing one store, secret and set of page templates."""

    def __init__(
        self,
        config: Config,
        store: Store,
        secret: Secret,
        key: PublicKey | None,
        clock: Callable[[], float],
        bodies: BodyLimits,
        mailer: Mailer,
        reports: Secret | None = None,
    ) -> None:
        self.config = config
        self.reports = reports
        self.bodies = bodies
        self.store = store
        self.pages = Pages(config)
        writes = _write_queue(store)
        self.links = Links(store, secret, writes)
        self.preferences = PreferencePages(config, store, secret, self.pages, clock, writes)
        self.archive = Archive(config, store)
        self.webhook = SendGridWebhook(
            store,
            key,
            max_age=config.webhook.max_age_seconds,
            clock=clock,
            writes=writes,
            per_reader=config.tracking.per_reader,
        )
        signups = Signups(config, store, secret, mailer, writes)
        self.signup = SignupPages(config, store, secret, signups, self.pages, clock)

    def _page(
        self,
        name: str,
        status: int = 200,
        headers: Mapping[str, str] = PERSONAL_HEADERS,
        **ctx: Any,
    ) -> HTMLResponse:
        return HTMLResponse(self.pages.render(name, **ctx), status, headers=dict(headers))

    def _invalid_link(self) -> HTMLResponse:
        # One fixed page for every bad link: nothing in it depends on the request.
        return self._page("link_invalid", 400)

    def _base(self, request: Request) -> str:
        configured = self.config.publication.public_base_url
        return (configured or str(request.base_url)).rstrip("/")

    # ----------------------------------------------------------------- unsubscribe

    async def unsubscribe_page(self, request: Request) -> Response:
        token = request.path_params["token"]
        subscriber = await run_in_threadpool(self.links.lookup, token)
        if subscriber is None:
            return self._invalid_link()
        masked = mask_email(subscriber.email)
        if subscriber.suppressed:
            return self._page(
                "unsubscribed", masked_email=masked, resubscribe_action=f"../resubscribe/{token}"
            )
        return self._page("unsubscribe_confirm", masked_email=masked, action=token)

    async def unsubscribe(self, request: Request) -> Response:
        # The body (`List-Unsubscribe=One-Click` from mail providers, the same from our
        # form) is not needed: a POST on a genuine link is the request to unsubscribe.
        token = request.path_params["token"]
        outcome = await run_in_threadpool(self.links.unsubscribe, token)
        if outcome is None:
            return self._invalid_link()
        log.info("unsubscribed subscriber %s from the web", outcome.subscriber.id)
        return self._page(
            "unsubscribed",
            masked_email=mask_email(outcome.subscriber.email),
            resubscribe_action=f"../resubscribe/{token}",
        )

    async def resubscribe(self, request: Request) -> Response:
        token = request.path_params["token"]
        outcome = await run_in_threadpool(self.links.resubscribe, token)
        if outcome is None:
            return self._invalid_link()
        return self._page(
            "resubscribed",
            resubscribed=outcome.done,
            masked_email=mask_email(outcome.subscriber.email),
            unsubscribe_action=f"../unsubscribe/{token}",
            contact=self.config.sender.reply_to,
        )

    async def unsubscribe_help(self, request: Request) -> Response:
        return HTMLResponse(self.archive.help_page(), headers=PAGE_HEADERS)

    # ----------------------------------------------------------------- webhook

    async def sendgrid_webhook(self, request: Request) -> Response:
        # Key, headers and timestamp first: a request refused here is never read.
        admitted = self.webhook.admit(
            request.headers.get(SIGNATURE_HEADER), request.headers.get(TIMESTAMP_HEADER)
        )
        if isinstance(admitted, Answer):
            return _unread(admitted.status, admitted.body)
        started = time.perf_counter()
        with self.bodies.reservation() as reservation:
            body = await reservation.read(request)
            if isinstance(body, Refusal):
                return _unread(body.status, {"error": body.error}, body.retry_after)
            answer = await run_in_threadpool(self.webhook.receive, admitted, body)
            del body  # the budget is given back on leaving: the buffer must go first
        log.info(
            "sendgrid webhook: %s %s in %.0f ms",
            answer.status,
            answer.body,
            (time.perf_counter() - started) * 1000,
        )
        return JSONResponse(answer.body, answer.status)

    # ----------------------------------------------------------------- archive

    async def archive_index(self, request: Request) -> Response:
        page = await run_in_threadpool(self.archive.index_page, self._base(request))
        return HTMLResponse(page, headers=PAGE_HEADERS)

    async def archive_issue(self, request: Request) -> Response:
        issue = request.path_params["issue"]
        page = await run_in_threadpool(self.archive.issue_page, issue, self._base(request))
        if page is None:
            raise HTTPException(404)
        return HTMLResponse(page, headers=ISSUE_HEADERS)

    async def feed(self, request: Request) -> Response:
        xml = await run_in_threadpool(self.archive.feed, self._base(request))
        return Response(xml, media_type="application/atom+xml; charset=utf-8")

    # ----------------------------------------------------------------- reports

    async def report(self, request: Request) -> Response:
        if self.reports is None or not bearer_matches(
            request.headers.get("authorization"), self.reports
        ):
            return PlainTextResponse("a bearer token is needed", 401, headers=REPORT_CHALLENGE)
        issue = request.path_params.get("issue")
        if issue is not None and not ISSUE_ID.match(issue):
            raise HTTPException(404)
        page = await run_in_threadpool(self._report_page, issue)
        if page is None:
            raise HTTPException(404)
        return HTMLResponse(page, headers=REPORT_HEADERS)

    def _report_page(self, issue: str | None) -> str | None:
        """The report page of `issue` (None: the newest sent), or None if it has no send."""
        try:
            found = build_report(self.store, issue or newest_issue(self.store))
        except InputError:
            return None
        return None if found.issue is None else report_page(self.config, found.issue, found.history)

    async def healthz(self, request: Request) -> Response:
        await run_in_threadpool(self.store.schema_state)  # the store answers
        return PlainTextResponse("ok")

    # ----------------------------------------------------------------- errors

    async def not_found(self, request: Request, exc: Exception) -> Response:
        moved = _slash_redirect(request)
        if moved is not None:
            return moved
        archive_url = f"{self._base(request)}/archive/"
        return self._page("not_found", 404, PAGE_HEADERS, archive_url=archive_url)

    async def store_failed(self, request: Request, exc: Exception) -> Response:
        log.error("store error while answering %s %s: %s", request.method, request.url.path, exc)
        headers = {**PERSONAL_HEADERS, "Retry-After": "60"}
        return self._page("unavailable", 503, headers)


def _slash_redirect(request: Request) -> Response | None:
    """`/archive` → `/archive/` (and `/healthz/` → `/healthz`) when only the other form is a
    route. Starlette's own redirect is absolute, built from the request's Host header;
    this one is relative (`./archive/`, `../healthz`), so it stays on whatever host the
    reader reached, and `./` keeps a segment like `javascript:` from reading as a scheme."""
    path: str = request.scope["path"]
    if path == "/" or path.endswith("//"):
        return None
    other = path.removesuffix("/") if path.endswith("/") else path + "/"
    scope = {**request.scope, "path": other}
    router: Router = request.scope["router"]
    if not any(route.matches(scope)[0] != Match.NONE for route in router.routes):
        return None
    segment = quote(other.removesuffix("/").rsplit("/", 1)[-1], safe="")
    location = f"../{segment}" if path.endswith("/") else f"./{segment}/"
    query = request.scope.get("query_string", b"").decode("latin-1")
    return RedirectResponse(location + (f"?{query}" if query else ""), 307)


def allowed_hosts(config: Config) -> list[str]:
    """The Host headers the app answers: the public base URL's host, and loopback (for
    health checks and a reverse proxy that does not pass Host on). Without a base URL,
    loopback only: no link or redirect can then be built from a host a client made up."""
    hosts = ["127.0.0.1", "localhost", "[::1]"]  # Starlette compares IPv6 hosts bracketed
    host = urlsplit(config.publication.public_base_url or "").hostname
    if host:
        hosts.insert(0, f"[{host}]" if ":" in host else host.lower())
    return hosts


def _unread(status: int, body: dict[str, Any], retry_after: int | None = None) -> Response:
    """A refusal sent before the request body was (wholly) read: the connection is closed
    after it, so the rest of the body is never taken in."""
    headers = {"Connection": "close"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(body, status, headers=headers)


def routes(handlers: Handlers) -> list[Route]:
    # Without a token the reports are no route at all: a request for them is a 404
    # like any unknown URL, and nothing tells the world they could exist.
    reports = (
        [
            Route("/reports/", handlers.report, methods=["GET"]),
            Route("/reports/{issue}", handlers.report, methods=["GET"]),
        ]
        if handlers.reports is not None
        else []
    )
    return [
        *reports,
        Route("/unsubscribe/", handlers.unsubscribe_help, methods=["GET"]),
        Route("/unsubscribe/{token}", handlers.unsubscribe_page, methods=["GET"]),
        Route("/unsubscribe/{token}", handlers.unsubscribe, methods=["POST"]),
        Route("/resubscribe/{token}", handlers.resubscribe, methods=["POST"]),
        Route("/subscribe", handlers.signup.form, methods=["GET"]),
        Route("/subscribe", handlers.signup.subscribe, methods=["POST"]),
        Route("/confirm/{token}", handlers.signup.confirm_page, methods=["GET"]),
        Route("/confirm/{token}", handlers.signup.confirm, methods=["POST"]),
        Route("/webhooks/sendgrid", handlers.sendgrid_webhook, methods=["POST"]),
        Route("/archive/", handlers.archive_index, methods=["GET"]),
        Route("/archive/{issue}/", handlers.archive_issue, methods=["GET"]),
        Route("/feed.xml", handlers.feed, methods=["GET"]),
        Route("/healthz", handlers.healthz, methods=["GET"]),
        *preference_routes(handlers.preferences),
    ]


def create_app(
    config: Config,
    store: Store,
    *,
    secret: Secret | None = None,
    clock: Callable[[], float] = time.time,
    bodies: BodyLimits | None = None,
    mailer: Mailer | None = None,
) -> Starlette:
    """The web app for one store. Reads NEWSLETTER_SECRET unless `secret` is given, and
    NEWSLETTER_REPORT_TOKEN (the reports are served only when it is set); a malformed
    webhook key in config.yaml or an unusable token is a ConfigError here, at start-up.
    `bodies` sets the webhook's body cap and budget (newsletter.web.bodies); `mailer`
    sends sign-up confirmations (default: the configured transport, opened on first use)."""
    configured_key = config.webhook.sendgrid_public_key
    key = load_public_key(configured_key) if configured_key else None
    handlers = Handlers(
        config,
        store,
        secret or signing_secret(),
        key,
        clock,
        bodies or BodyLimits(),
        mailer or TransportMailer(config),
        reports=report_token(),
    )
    app = Starlette(
        routes=routes(handlers),
        middleware=[
            # www_redirect off: that redirect would be built from the request's Host.
            Middleware(
                TrustedHostMiddleware, allowed_hosts=allowed_hosts(config), www_redirect=False
            )
        ],
        exception_handlers={404: handlers.not_found, StoreError: handlers.store_failed},
    )
    app.router.redirect_slashes = False  # see _slash_redirect
    return app
