"""Running the app with uvicorn: `newsletter serve`.

One process; requests that touch the store run in Starlette's thread pool.
No log line shows a subscriber's token or a password in a URL: anyone holding a
token could unsubscribe that reader, and logs travel further than the database.
uvicorn's handlers (its access and error logs) and the app's own `newsletter`
loggers all write through the redacting filter of newsletter.redaction.
"""

from __future__ import annotations

import copy
import socket
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from newsletter.api import Workbench
from newsletter.config import Config
from newsletter.errors import ConfigError
from newsletter.store import Store
from newsletter.web.app import create_app
from newsletter.web.workbench import create_workbench_app

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


WORKBENCH_HOST = "127.0.0.1"  # the workbench is for the editor at this machine only


def workbench_socket(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:`port` (0: any free port). ConfigError (4) when
    the port is taken or not allowed."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((WORKBENCH_HOST, port))
    except OSError as err:
        sock.close()
        raise ConfigError(
            f"cannot listen on {WORKBENCH_HOST}:{port}: {err.strerror}",
            hint="choose another port with --port (0 picks a free one)",
        ) from err
    sock.listen(128)
    return sock


def workbench_server(workbench: Workbench, sock: socket.socket, **options: Any) -> Any:
    """The uvicorn server of the workbench on a socket from `workbench_socket` (the tests
    run it in a thread). Open live-update streams are given a second at shutdown."""
    options.setdefault("log_config", log_config())
    config = uvicorn.Config(
        create_workbench_app(workbench),
        server_header=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
        **options,
    )
    return uvicorn.Server(config)


def serve_workbench(workbench: Workbench, port: int, on_ready: Callable[[str], None]) -> None:
    """Serve the workbench on 127.0.0.1:`port` until SIGINT or SIGTERM; `on_ready` gets
    the URL once the port is bound (the CLI prints it). ConfigError (4) if it cannot be."""
    with workbench_socket(port) as sock:
        url = f"http://{WORKBENCH_HOST}:{sock.getsockname()[1]}/"
        server = workbench_server(workbench, sock, log_level="warning")
        on_ready(url)
        try:
            server.run(sockets=[sock])
        finally:
            workbench.close()
