"""Per-request tracing span, request id bound into structlog, and security headers.

A pure ASGI middleware rather than ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware`` runs the
app in a task group and re-streams the response through a memory channel, which cost about a tenth of the
ballot path's CPU (py-spy, docs/benchmarks.md). What it does is unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Any

import structlog
from fastapi import FastAPI
from opentelemetry import trace

from yishi.tracing import tracer, tracing_configured

SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Everything is served from this origin: no third-party scripts, styles or fonts.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
_STYLE = re.compile(r"<style>(.*?)</style>", re.S)


def own_styles_policy(html: str) -> str:
    """The app-wide policy that also allows ``html``'s own inline ``<style>`` blocks, by their hashes: a printed
    sheet is one self-contained document (the CLI writes the same to a file), and nothing else is allowed."""
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() + "'"
                      for style in _STYLE.findall(html))
    return SECURITY_HEADERS["Content-Security-Policy"].replace("style-src 'self'", f"style-src 'self' {hashes}")


_SECURITY_RAW = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in SECURITY_HEADERS.items()]
# Only on HTTPS (directly, or as the trusted proxy reports it: yishi/web/proxy.py): a browser that saw it never
# again follows a plain-HTTP link to this host, where a network in between could read a personal link.
HSTS = (b"strict-transport-security", b"max-age=31536000")


class TraceAndHarden:
    """Bind a request id, wrap the request in a server span named by its route (when tracing is configured), add
    the security headers (and HSTS when the request came over HTTPS)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        status: list[int] = []

        async def send_hardened(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in _SECURITY_RAW if name not in present]
                if scope.get("scheme") == "https" and HSTS[0] not in present:
                    headers.append(HSTS)
                message = {**message, "headers": headers}
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=secrets.token_hex(8))
        try:
            if tracing_configured():
                await self._traced(scope, receive, send_hardened, status)
            else:  # no span would go anywhere: not even a no-op one
                await self.app(scope, receive, send_hardened)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")

    async def _traced(self, scope: dict[str, Any], receive: Any, send: Any, status: list[int]) -> None:
        method = scope["method"]
        with tracer().start_as_current_span(method, kind=trace.SpanKind.SERVER) as span:
            await self.app(scope, receive, send)
            # The route template, never the path: personal links carry capabilities.
            route = getattr(scope.get("route"), "path", "unmatched")
            span.update_name(f"{method} {route}")
            span.set_attribute("http.request.method", method)
            span.set_attribute("http.route", route)
            if status:
                span.set_attribute("http.response.status_code", status[0])


def install_middleware(app: FastAPI) -> None:
    app.add_middleware(TraceAndHarden)
