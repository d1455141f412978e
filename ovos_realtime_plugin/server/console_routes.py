"""The voice console: ``GET /`` serves the static page shipped in :mod:`ovos_realtime_plugin.console`, and
``POST /console/session`` mints the page an ephemeral key — for a page loaded from loopback, or for a
request that carries the operator's API key (``Authorization: Bearer``)."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from ovos_realtime_plugin.server.http_errors import bad_key, bearer_key, json_error

if TYPE_CHECKING:
    from ovos_realtime_plugin.server.app import RealtimeServer

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent.parent / "console"
FILES = {"console.js": "text/javascript", "console.css": "text/css", "capture.js": "text/javascript"}
CONSOLE_KEY_SECONDS = 600


def add_routes(app: web.Application, server: RealtimeServer) -> None:
    async def page(_request: web.Request) -> web.FileResponse:
        return _static("index.html", "text/html")

    async def asset(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in FILES:
            raise web.HTTPNotFound()
        return _static(name, FILES[name])

    async def session(request: web.Request) -> web.Response:
        return mint_for_console(server, request)

    app.router.add_get("/", page)
    app.router.add_get("/console/{name}", asset)
    app.router.add_post("/console/session", session)


def mint_for_console(server: RealtimeServer, request: web.Request) -> web.Response:
    """An ephemeral key for the console page: loopback pages need no key, others the operator's."""
    if not (from_loopback(request) or operator_key(server, bearer_key(request))):
        return bad_key()
    if not server.ready:
        return json_error(503, "The server is starting: try again once /healthz answers 200.", "server_starting",
                          kind="server_error")
    return web.json_response(server.secrets.mint({"expires_after": {"seconds": CONSOLE_KEY_SECONDS}}))


def from_loopback(request: web.Request) -> bool:
    """A request made on this machine, not forwarded for another (a proxy on loopback adds the header)."""
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def operator_key(server: RealtimeServer, key: str | None) -> bool:
    grant = server.secrets.grant(key)
    return grant is not None and not grant.ephemeral  # with no API keys configured the server is open


def _static(name: str, content_type: str) -> web.FileResponse:
    return web.FileResponse(STATIC / name, headers={"Content-Type": f"{content_type}; charset=utf-8",
                                                    "Cache-Control": "no-cache"})
