"""The aiohttp middleware every request passes before its handler runs: the :mod:`.access` rules (``Host``,
``Origin``), CORS and Private Network Access answers for the pages that may call, and the connection guard told
when a request is under way (:mod:`.http_guard`)."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from ovos_realtime_plugin.server.access import KEYED_PATHS, AccessPolicy
from ovos_realtime_plugin.server.http_errors import json_error
from ovos_realtime_plugin.server.http_guard import ConnectionGuard

log = logging.getLogger(__name__)
CORS_HEADERS = {"Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
                "Access-Control-Allow-Headers": "Authorization, Content-Type, OpenAI-Beta, X-OpenAI-Agents-SDK",
                "Access-Control-Expose-Headers": "Location", "Access-Control-Max-Age": "600"}


def gatekeeper(policy: AccessPolicy, guard: ConnectionGuard) -> Middleware:
    @web.middleware
    async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
        guard.busy(request.transport)
        try:
            refused = refusal(policy, request)
            if refused is not None:
                return refused
            origin = request.headers.get("Origin")
            cross = origin is not None and not policy.same_origin(origin, request.headers.get("Host"))
            if request.method == "OPTIONS" and KEYED_PATHS.match(request.path):
                response: web.StreamResponse = web.Response(status=204, headers=CORS_HEADERS)
            else:
                response = await handler(request)
            if cross and origin is not None and not response.prepared:
                response.headers["Access-Control-Allow-Origin"] = origin
                response.headers["Vary"] = "Origin"
                if request.headers.get("Access-Control-Request-Private-Network", "").lower() == "true":
                    response.headers["Access-Control-Allow-Private-Network"] = "true"
            return response
        finally:
            guard.idle(request.transport)

    return gate


def refusal(policy: AccessPolicy, request: web.Request) -> web.Response | None:
    """The answer that refuses ``request`` before anything runs, or ``None`` when it may go on."""
    host = request.headers.get("Host")
    if not policy.host_allowed(host):
        log.info("refused a request for host %r (not this server's: add it to \"allowed_hosts\")", host)
        return json_error(421, f"This server does not answer for host '{host or ''}'; add it to the server's "
                               "\"allowed_hosts\" if it is this server's name.", "host_not_allowed", None)
    if not policy.keyed and policy.forwarded(request.remote, request.headers):
        log.info("refused a request forwarded by a proxy to a server with no API keys")
        return json_error(403, "This server has no API keys, so it serves only its own machine, not requests a "
                               "proxy forwards: configure \"api_keys\" to serve through a proxy.", "proxy_needs_keys",
                          None)
    origin = request.headers.get("Origin")
    if origin is None or policy.same_origin(origin, host) or policy.cross_origin_allowed(origin, request.path):
        return None
    log.info("refused a request from origin %r to %s", origin, request.path)
    return json_error(403, f"Requests from origin '{origin}' are not allowed here; add it to the server's "
                           "\"allowed_origins\" if it is yours.", "origin_not_allowed", None)
