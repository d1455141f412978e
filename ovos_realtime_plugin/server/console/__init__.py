"""The voice console at ``GET /``: a static page shipped in the package (plain browser WebRTC and WebSocket
APIs, no build step, no CDN), and its same-origin endpoint that mints the page an ephemeral key.

The key endpoint mints for the operator's own key only when the request is the operator's own machine
(:meth:`~ovos_realtime_plugin.server.access.AccessPolicy.local`: a loopback peer, no proxy, a loopback ``Host``
naming this server's port, no foreign ``Origin``); anyone else gives the page a key of their own to mint with.
Every response of the console carries a Content-Security-Policy that lets the page talk to this server only.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from aiohttp import web

from ovos_realtime_plugin.server.http_api import mint
from ovos_realtime_plugin.server.http_errors import bearer_key

if TYPE_CHECKING:
    from ovos_realtime_plugin.server.sessions import SessionHost

KEY_PATH = "/console/client_secret"
ASSETS = {"console.js": "text/javascript", "capture.js": "text/javascript", "console.css": "text/css",
          "icon.svg": "image/svg+xml"}
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "X-Frame-Options": "SAMEORIGIN",
           "Referrer-Policy": "no-referrer",
           "Content-Security-Policy": "default-src 'self'; connect-src 'self'; img-src 'self'; media-src 'self' blob:; "
                                      "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; object-src 'none'"}


def add_routes(app: web.Application, server: SessionHost) -> None:
    page = resources.files(__package__).joinpath("index.html").read_text(encoding="utf-8")

    async def index(_request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", headers=HEADERS)

    async def client_secret(request: web.Request) -> web.Response:
        key = bearer_key(request)  # another origin never gets here: the gatekeeper refuses it for this path
        if key is None and server.access.local(request.remote, request.headers, _local_port(request)):
            key = next(iter(server.settings.api_keys), None)  # the operator's own machine
        return await mint(server, request, key)

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in ASSETS:
            raise web.HTTPNotFound()
        text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
        return web.Response(text=text, content_type=ASSETS[name], headers=HEADERS)

    async def favicon(_request: web.Request) -> web.Response:
        text = resources.files(__package__).joinpath("icon.svg").read_text(encoding="utf-8")
        return web.Response(text=text, content_type="image/svg+xml", headers=HEADERS)

    app.router.add_get("/", index)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get("/console/{name}", asset)
    app.router.add_post(KEY_PATH, client_secret)


def _local_port(request: web.Request) -> int | None:
    sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
    return int(sockname[1]) if sockname else None
