"""The voice console at ``GET /``: a static page shipped in the package (plain browser WebRTC and WebSocket
APIs, no build step, no CDN), and its same-origin endpoint that mints the page an ephemeral key."""

from __future__ import annotations

import ipaddress
from importlib import resources
from typing import TYPE_CHECKING

from aiohttp import web

from ovos_realtime_plugin.server.http_errors import bearer_key

if TYPE_CHECKING:
    from ovos_realtime_plugin.server.app import RealtimeServer

KEY_PATH = "/console/client_secret"
ASSETS = {"console.js": "text/javascript", "capture.js": "text/javascript", "console.css": "text/css"}


def add_routes(app: web.Application, server: RealtimeServer) -> None:
    page = resources.files(__package__).joinpath("index.html").read_text(encoding="utf-8")

    async def index(_request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})

    async def client_secret(request: web.Request) -> web.Response:
        from ovos_realtime_plugin.server.http_api import mint

        if not _same_origin(request):
            return web.json_response({"error": {"message": "Cross-origin request refused.", "type":
                                                "invalid_request_error", "param": None, "code": "forbidden"}},
                                     status=403)
        key = bearer_key(request)
        if key is None and _loopback(request):
            key = next(iter(server.settings.api_keys), None)  # the operator's own machine
        return await mint(server, request, key)

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in ASSETS:
            raise web.HTTPNotFound()
        text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
        return web.Response(text=text, content_type=ASSETS[name], headers={"Cache-Control": "no-store"})

    app.router.add_get("/", index)
    app.router.add_get("/console/{name}", asset)
    app.router.add_post(KEY_PATH, client_secret)


def _loopback(request: web.Request) -> bool:
    """Made on this machine, and not forwarded by a proxy on it for someone else."""
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    return origin is None or origin.split("://", 1)[-1] == request.host
