"""The editors' workbench as an ASGI app (`newsletter preview --web`): a separate,
loopback-only Starlette app over one `Workbench` (newsletter.api), not part of the
public endpoint `newsletter serve` runs.

    GET  /              the page: the email at 600 and 375 px, light and dark, the text,
                        the size, the findings, the preview button
    GET  /workbench.js  the page's script (live updates)
    GET  /events        server-sent events: `change` with the version, on every re-render
    POST /preview       send a [PREVIEW] to the editors (the form's token required)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from newsletter.api import Workbench
from newsletter.errors import RenderError
from newsletter.pages import WORKBENCH_HEADERS

POLL_SECONDS = 0.2  # how often the files are looked at: a save shows within a second
LOOPBACK = ["127.0.0.1", "localhost"]  # a Host header naming any other site is refused
FORM_LIMIT = 4096  # bytes: the form holds one token
KEEPALIVE_POLLS = 75  # a comment line every ~15 s lets a closed tab's stream end


class WorkbenchHandlers:
    def __init__(self, workbench: Workbench) -> None:
        self.workbench = workbench

    async def page(self, request: Request) -> Response:
        return await self._page(200)

    async def _page(self, status: int) -> Response:
        try:
            html = await run_in_threadpool(self.workbench.page)
        except RenderError as err:  # the page's own template is broken: say so, as text
            text = f"workbench page: {err.message}\n"
            return Response(text, 503, {"Retry-After": "1"}, media_type="text/plain")
        return HTMLResponse(html, status, headers=WORKBENCH_HEADERS)

    async def script(self, request: Request) -> Response:
        try:
            text = await run_in_threadpool(self.workbench.script)
        except RenderError:
            return Response("", 404)
        return Response(text, media_type="text/javascript", headers={"Cache-Control": "no-store"})

    async def events(self, request: Request) -> Response:
        return StreamingResponse(
            self._changes(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _changes(self) -> AsyncIterator[str]:
        """`change` events, each carrying the version, from a loop that polls the files."""
        yield "retry: 500\n\n"  # reconnect quickly when the workbench restarts
        sent, quiet = 0, 0
        while not self.workbench.closed.is_set():
            version = await run_in_threadpool(self.workbench.refresh)
            if version != sent:
                sent, quiet = version, 0
                yield f"event: change\ndata: {version}\n\n"
            elif (quiet := quiet + 1) >= KEEPALIVE_POLLS:
                quiet = 0
                yield ": still here\n\n"
            await asyncio.sleep(POLL_SECONDS)

    async def preview(self, request: Request) -> Response:
        length = request.headers.get("content-length", "")
        if not length.isdigit() or int(length) > FORM_LIMIT:
            return Response("a small form body with its length is expected\n", 413)
        body = await request.body()  # at most FORM_LIMIT: the length was checked
        tokens = parse_qs(body[:FORM_LIMIT].decode("latin-1")).get("token", [])
        if len(tokens) != 1 or not self.workbench.token_matches(tokens[0]):
            return Response("this form is not from this workbench: reload the page\n", 403)
        if await run_in_threadpool(self.workbench.send_preview):
            return RedirectResponse("./", 303)  # a reload of the page does not send again
        return await self._page(409)


def create_workbench_app(workbench: Workbench) -> Starlette:
    """The workbench app over `workbench`; it answers only Host 127.0.0.1 or localhost (a
    site that resolves its own name to 127.0.0.1 cannot script it: DNS rebinding)."""
    handlers = WorkbenchHandlers(workbench)
    return Starlette(
        routes=[
            Route("/", handlers.page, methods=["GET"]),
            Route("/workbench.js", handlers.script, methods=["GET"]),
            Route("/events", handlers.events, methods=["GET"]),
            Route("/preview", handlers.preview, methods=["POST"]),
        ],
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=LOOPBACK, www_redirect=False)],
    )
