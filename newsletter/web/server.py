"""Running the app with uvicorn: `newsletter serve`.

One process; requests that touch the store run in Starlette's thread pool.
The access log never shows a subscriber's token: anyone holding one could
unsubscribe that reader, and logs travel further than the database.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import uvicorn

from newsletter.config import Config
from newsletter.store.store import Store
from newsletter.web.app import create_app

_TOKEN_PATH = re.compile(r"/(unsubscribe|resubscribe)/[^/?\s\"]+")


def redact(text: str) -> str:
    """A URL path with any subscriber token replaced by '…'."""
    return _TOKEN_PATH.sub(r"/\1/…", text)


class RedactTokens(logging.Filter):
    """Rewrites uvicorn's access-log arguments so no token reaches a log handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def uvicorn_config(config: Config, store: Store, host: str, port: int, **options: Any) -> Any:
    """The uvicorn configuration for our app (tests and the benchmark start it too)."""
    logging.getLogger("uvicorn.access").addFilter(RedactTokens())
    return uvicorn.Config(
        create_app(config, store),
        host=host,
        port=port,
        proxy_headers=True,  # trust X-Forwarded-* from the reverse proxy on this host only
        server_header=False,
        lifespan="off",
        **options,
    )


def serve(config: Config, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM; the store is opened (and migrated) first."""
    with Store.from_config(config) as store:
        uvicorn.Server(uvicorn_config(config, store, host, port)).run()
