"""`reverie review`: the local review page for playbooks."""

from __future__ import annotations

import typer

from cli.common import console, fail, home


def review(
    port: int = typer.Option(
        None, "--port", min=1, max=65535, help="Port on 127.0.0.1 (default: a free one)."
    ),
    reviewer: str = typer.Option(
        None, "--reviewer", envvar="USER", help="Name recorded with your decisions."
    ),
) -> None:
    """Serve a local page to read every entry with the sessions behind it, approve, reject and roll back."""
    from pipeline.review.server import free_port, port_is_free, serve

    if port is not None and not port_is_free(port):
        fail(f"127.0.0.1:{port} is in use; choose another --port or leave it out for a free one")
    chosen = port or free_port()

    def ready(url: str) -> None:
        console.print(
            f"review page: [bold]{url}[/]\n(only this URL opens it: it holds a fresh token; Ctrl-C stops)",
            soft_wrap=True,
        )

    serve(home(), port=chosen, reviewer=reviewer, on_ready=ready)
