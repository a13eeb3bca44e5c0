"""The review page's guard: a secret token on every request, CSRF on every form, a strict content policy.

The page listens on 127.0.0.1 only, but any web page the reviewer opens could still send requests to a local
port. So every request must carry the random token printed with the URL (else 403), every POST must repeat
it in the form body (a cross-site form cannot know it), and the Content-Security-Policy lets the browser
load nothing from anywhere but this server: session text is untrusted, and even if some escaping were
missed, no script could run and nothing could leave 127.0.0.1.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOKEN_PARAM = "token"
CSRF_FIELD = "csrf"
MAX_FORM_BYTES = 64 * 1024


def new_token() -> str:
    return secrets.token_urlsafe(24)


def style_hash(css: str) -> str:
    """The CSP source that allows exactly our one inline stylesheet (and no other inline style)."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'"


def content_security_policy(css: str) -> str:
    return (
        f"default-src 'self'; style-src {style_hash(css)}; script-src 'none'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def token_matches(given: str | None, token: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), token.encode())


def parse_form(body: bytes) -> dict[str, str]:
    """An urlencoded form body (the only kind the page sends); the last value of a repeated field wins."""
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[-1] for name, values in fields.items()}


def same_origin(headers: dict[str, str]) -> bool:
    """A browser's Origin (when sent) must be this server: a second line of defence behind the token.

    The referrer policy is `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null`
    on form posts, which would tell our own forms from a sandboxed attacker's no better than nothing."""
    origin = headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == headers.get("host", "")


class TokenGuard:
    """ASGI middleware: 403 without the token; security headers on every response."""

    def __init__(self, app: ASGIApp, token: str, css: str) -> None:
        self.app = app
        self.token = token
        self.headers = [
            (b"content-security-policy", content_security_policy(css).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
            (b"cache-control", b"no-store"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = (query.get(TOKEN_PARAM) or [None])[-1]
        if not token_matches(given, self.token):
            response = PlainTextResponse(
                "forbidden: open the URL `reverie review` printed (it holds the token)", 403
            )
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
