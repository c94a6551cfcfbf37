"""Streamable HTTP for the MCP server: bearer-token auth in front, loopback by default.

The token is compared in constant time; a request without it, or with a wrong one, gets
401 before it reaches the MCP layer. No CORS headers are sent, so browsers on other
origins cannot call the server.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import TYPE_CHECKING, Any

from headrace.errors import UsageError

if TYPE_CHECKING:
    from mcp.server import MCPServer

TOKEN_ENV = "HEADRACE_MCP_TOKEN"


class BearerAuth:
    """ASGI middleware: every HTTP request must carry ``Authorization: Bearer <token>``."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b'Bearer realm="headrace"'),
                        ],
                    }
                )
                await send(
                    {
                        "type": "http.response.body",
                        "body": b'{"error": "missing or wrong bearer token"}',
                    }
                )
                return
        await self.app(scope, receive, send)


def check_binding(host: str, token: str | None) -> str:
    """The token to require; refuses HTTP without one (and says why for non-loopback)."""
    if not token:
        where = "a non-loopback address" if not is_loopback(host) else "HTTP"
        raise UsageError(
            f"serving MCP over {where} needs a bearer token",
            hint=f"pass --token or set {TOKEN_ENV}",
        )
    if len(token) < 16:
        raise UsageError("the bearer token is too short", hint="use at least 16 characters")
    return token


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def http_app(server: MCPServer, token: str, host: str) -> Any:
    """The streamable-HTTP ASGI app at /mcp behind the token check."""
    app = server.streamable_http_app(host=host)
    return BearerAuth(app, token)


def serve_http(server: MCPServer, *, host: str, port: int, token: str) -> None:
    """Run the HTTP server until interrupted."""
    import uvicorn

    config = uvicorn.Config(
        http_app(server, token, host), host=host, port=port, log_level="warning"
    )
    uvicorn.Server(config).run()
