"""The dashboard's guards: a token on any non-loopback address, loopback host names only without one
(against DNS rebinding), read-only methods, and headers that keep a page from running foreign code."""

from __future__ import annotations

import hmac
import ipaddress
import os
from typing import Any

from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from jotty.errors import ValidationError

TOKEN_ENV = "JOTTY_DASHBOARD_TOKEN"
COOKIE = "jotty_dashboard_token"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) only listens on this machine."""
    if host.strip("[]") in LOOPBACK_NAMES or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_token(host: str, token: str | None) -> str | None:
    """The token to require: ``token``, else ``$JOTTY_DASHBOARD_TOKEN``; ``ValidationError`` when the
    address is not loopback and there is none (anyone on the network could read the runs)."""
    chosen = token or os.environ.get(TOKEN_ENV) or None
    if chosen is not None and len(chosen) < 16:
        raise ValidationError("the dashboard token is shorter than 16 characters: use a long random one")
    if chosen is None and not is_loopback(host):
        raise ValidationError(
            f"the dashboard on {host} would be open to the network: give --token (or set {TOKEN_ENV}) "
            "with a long random value, or bind to 127.0.0.1"
        )
    return chosen


def host_name(header: str) -> str:
    """The host part of a ``Host`` header (``[::1]:8321`` -> ``[::1]``, ``localhost:80`` -> ``localhost``)."""
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0]


class Guard:
    """ASGI middleware: security headers on every answer; only GET and HEAD; the token (header
    ``Authorization: Bearer``, cookie, or ``?token=`` which sets the cookie) when one is set; and
    without a token, only loopback host names in the ``Host`` header."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal = self._refusal(request)
        if refusal is not None:
            await self._secured(refusal)(scope, receive, send)
            return
        if self.token is not None and request.query_params.get("token"):
            clean = URL(str(request.url)).remove_query_params("token")
            response = RedirectResponse(clean.path + (f"?{clean.query}" if clean.query else ""), status_code=303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
            await self._secured(response)(scope, receive, send)
            return

        async def secured_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.decode().lower() not in HEADERS]
                headers += [(k.encode(), v.encode()) for k, v in HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, secured_send)

    def _refusal(self, request: Request) -> Response | None:
        if request.method not in ("GET", "HEAD"):
            return PlainTextResponse("the dashboard is read-only: only GET and HEAD", status_code=405)
        if self.token is None:
            host = host_name(request.headers.get("host", ""))
            if not is_loopback(host):
                return PlainTextResponse(
                    f"host {host!r} is not a loopback name: open the dashboard at http://127.0.0.1", status_code=421
                )
            return None
        offered = request.query_params.get("token") or request.cookies.get(COOKIE) or ""
        bearer = request.headers.get("authorization", "")
        if bearer.lower().startswith("bearer "):
            offered = bearer[7:].strip()
        if not hmac.compare_digest(offered.encode(), self.token.encode()):
            return PlainTextResponse(
                "this dashboard needs its token: open it once as /?token=TOKEN (it is kept in a cookie), "
                "or send the header 'Authorization: Bearer TOKEN'",
                status_code=401,
            )
        return None

    @staticmethod
    def _secured(response: Response) -> Response:
        response.headers.update(HEADERS)
        return response
