"""Serve the review page on 127.0.0.1 with uvicorn: a free port unless one is given, a fresh token each start."""

from __future__ import annotations

import socket
from collections.abc import Callable

from pipeline.home import ReverieHome
from pipeline.review.security import TOKEN_PARAM, new_token

HOST = "127.0.0.1"  # never another interface: the page can approve what every agent reads tomorrow


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def review_url(port: int, token: str) -> str:
    return f"http://{HOST}:{port}/?{TOKEN_PARAM}={token}"


def serve(
    home: ReverieHome,
    *,
    port: int | None = None,
    reviewer: str | None = None,
    token: str | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Block serving the page until interrupted; `on_ready` gets the URL (with its token) to print or open."""
    import uvicorn

    from pipeline.review.app import create_app

    token = token or new_token()
    port = port or free_port()
    app = create_app(home, token, reviewer)
    config = uvicorn.Config(
        app,
        host=HOST,
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    if on_ready is not None:
        on_ready(review_url(port, token))
    server.run()
