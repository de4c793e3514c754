"""Running the app with uvicorn: `newsletter serve`.

One process; requests that touch the store run in Starlette's thread pool.
No log line shows a subscriber's token or a password in a URL: anyone holding a
token could unsubscribe that reader, and logs travel further than the database.
uvicorn's handlers (its access and error logs) and the app's own `newsletter`
loggers all write through the redacting filter of newsletter.redaction.
"""

from __future__ import annotations

import copy
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from newsletter.config import Config
from newsletter.store import Store
from newsletter.web.app import create_app

REDACT = "newsletter.redaction.RedactingFilter"


def log_config(*, app_logs: bool = False) -> dict[str, Any]:
    """uvicorn's logging configuration with every handler redacting. With `app_logs`
    (the `serve` process), the package's own loggers (`newsletter.*`: the app's error
    and webhook lines) are written by uvicorn's handler too; otherwise they propagate
    to whatever the host process configured (a test run's capture)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": REDACT}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    if app_logs:
        config["loggers"]["newsletter"] = {
            "handlers": ["default"],
            "level": "INFO",
            "propagate": False,
        }
    return config


def uvicorn_config(config: Config, store: Store, host: str, port: int, **options: Any) -> Any:
    """The uvicorn configuration for our app (tests and the benchmark start it too)."""
    options.setdefault("log_config", log_config())
    return uvicorn.Config(
        create_app(config, store),
        host=host,
        port=port,
        proxy_headers=True,  # trust X-Forwarded-Proto/For from the reverse proxy on this host only
        server_header=False,
        lifespan="off",
        **options,
    )


def serve(config: Config, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM; the store is opened (and migrated) first."""
    with Store.from_config(config) as store:
        settings = uvicorn_config(config, store, host, port, log_config=log_config(app_logs=True))
        uvicorn.Server(settings).run()
