"""Who may use the dashboard: the token (bearer header or login cookie), same-origin
POSTs only, loopback Host names when there is no token, and defensive response headers.

The cookie holds an HMAC of the token, never the token itself; it is HttpOnly and
SameSite=Strict, so another site can neither read it nor make the browser send it.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from headrace.mcp.http import is_loopback

TOKEN_ENV = "HEADRACE_WEB_TOKEN"
COOKIE = "headrace_session"
# Reachable without the token: the login form and the stylesheet and scripts it uses
# (public, vendored files with no data in them).
OPEN_PATHS = ("/login", "/static/")

SECURITY_HEADERS = [
    # Scripts and styles from this server only; uPlot styles its canvas through the CSSOM,
    # which style-src does not restrict.
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        b" connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    # Not no-referrer: with it, browsers send "Origin: null" on same-origin form posts.
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


def session_value(token: str) -> str:
    """What the login cookie holds: a keyed hash of the token."""
    return hmac.new(token.encode(), b"headrace-web-session", hashlib.sha256).hexdigest()


def same_token(given: str, token: str) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(given.encode(), token.encode())


def safe_next(target: str | None) -> str:
    """Where to go after login: a path on this server, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


class Guard:
    """ASGI middleware in front of every route."""

    def __init__(self, app: Any, token: str | None) -> None:
        self.app = app
        self.token = token
        self.cookie = session_value(token) if token else None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + SECURITY_HEADERS
            await send(message)

        refusal = self.refusal(Request(scope))
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    def refusal(self, request: Request) -> Response | None:
        """The response that turns ``request`` away, or None to let it through."""
        host = request.url.hostname or ""
        if self.token is None and not is_loopback(host):
            # Without a token the server only listens on loopback; a foreign Host name here
            # is DNS rebinding (a web page pointing its own name at 127.0.0.1).
            return PlainTextResponse("unexpected Host header", status_code=421)
        if request.method not in ("GET", "HEAD") and not _same_origin(request):
            return PlainTextResponse("cross-site request refused", status_code=403)
        path = request.url.path
        if self.token is None or path == "/login" or path.startswith(OPEN_PATHS[1]):
            return None
        if self.authorized(request):
            return None
        wants_page = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        if wants_page:
            here = path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(here, safe='')}", status_code=303)
        return JSONResponse(
            {"error": "missing or wrong token"},
            status_code=401,
            headers={"www-authenticate": 'Bearer realm="headrace"'},
        )

    def authorized(self, request: Request) -> bool:
        """The bearer header or the login cookie carries the token."""
        assert self.token is not None and self.cookie is not None
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer " and same_token(header[7:].strip(), self.token):
            return True
        cookie = request.cookies.get(COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie.encode(), self.cookie.encode())


def _same_origin(request: Request) -> bool:
    """A browser's POST says where it comes from (Sec-Fetch-Site, else Origin); it must be
    this server. Clients that are not browsers send neither and are judged by the token."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return (parts.scheme, parts.netloc) == (request.url.scheme, request.url.netloc)
