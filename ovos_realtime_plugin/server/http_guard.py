"""Bounds on the HTTP connections themselves, below aiohttp: how many are open, in all and per client address,
and how long one may wait without sending a request's headers.

aiohttp keeps a connection that never finishes its request headers open for as long as the client likes, so a
few thousand half-open sockets used to exhaust the process's file descriptors (and ``/healthz`` with them). Here
every accepted socket is either *waiting* (no request under way: before its headers, or idle between keep-alive
requests) or *busy* (a handler runs: a request, a WebSocket session). A waiting socket is closed after
``header_timeout_s``, and when a bound is reached the oldest waiting socket makes room for the new one: an honest
client sends its headers at once and leaves that state in milliseconds, a slow or silent one is what goes. Only
when every socket is busy is a new one refused (a short ``503`` and a close).

Per-address bounds apply to remote peers; the loopback address and ``trusted_proxies`` carry many clients each
and share the total. The total stays ``fd_headroom`` below the process's file-descriptor limit, so the server
always has descriptors left for its own files, engines and WebRTC sockets.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)
KEYS = ("header_timeout_s", "max_connections", "max_connections_per_address", "max_waiting",
        "max_waiting_per_address", "fd_headroom")


@dataclass(frozen=True)
class HttpLimits:
    """``"realtime": {"http": {...}}``."""

    header_timeout_s: float = 10.0
    max_connections: int = 4096
    max_connections_per_address: int = 256
    max_waiting: int = 512
    max_waiting_per_address: int = 128
    fd_headroom: int = 256

    def total(self) -> int:
        """The total bound: ``max_connections``, lowered to keep ``fd_headroom`` descriptors free."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return self.max_connections
        return max(1, min(self.max_connections, soft - self.fd_headroom))


def http_limits_from_config(section: Mapping[str, Any]) -> HttpLimits:
    unknown = set(section) - set(KEYS)
    if unknown:
        raise ValueError(f"unknown \"http\" settings: {sorted(unknown)}; known: {list(KEYS)}")
    defaults = HttpLimits()
    values: dict[str, Any] = {}
    for key in KEYS:
        value = section.get(key, getattr(defaults, key))
        values[key] = float(value) if key == "header_timeout_s" else int(value)
        if values[key] <= 0:
            raise ValueError(f"\"http\": \"{key}\" must be positive, got {value}")
    return HttpLimits(**values)


_REFUSED = json.dumps({"error": {"message": "Too many open connections: try again shortly.",
                                 "type": "server_error", "param": None, "code": "too_many_connections"}}).encode()
REFUSAL = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
           b"Retry-After: 1\r\nContent-Length: " + str(len(_REFUSED)).encode() + b"\r\n\r\n" + _REFUSED)


class _Socket:
    __slots__ = ("address", "counted", "timer", "transport")

    def __init__(self, transport: asyncio.Transport, address: str, counted: bool) -> None:
        self.transport = transport
        self.address = address
        self.counted = counted  # subject to the per-address bounds
        self.timer: asyncio.TimerHandle | None = None


class ConnectionGuard:
    """Tracks the server's sockets (see the module's docstring). ``exempt(address)``: an address that carries
    many clients (loopback, a trusted proxy) and is left to the total bound."""

    def __init__(self, limits: HttpLimits, exempt: Callable[[str], bool]) -> None:
        self.limits = limits
        self.max_total = limits.total()
        self._exempt = exempt
        self._sockets: dict[asyncio.BaseTransport, _Socket] = {}
        self._waiting: dict[asyncio.BaseTransport, _Socket] = {}  # oldest first
        self._per_address: Counter[str] = Counter()
        self._waiting_per_address: Counter[str] = Counter()
        self.evicted = 0
        self.refused = 0
        self.timed_out = 0

    @property
    def open(self) -> int:
        return len(self._sockets)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def wrap(self, factory: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """A protocol factory for ``loop.create_server``: aiohttp's, behind this guard."""
        return lambda: _GuardedProtocol(self, factory())

    # -- a socket's life --------------------------------------------------------------------------
    def admit(self, transport: asyncio.Transport) -> bool:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else ""
        counted = not self._exempt(address)
        if len(self._sockets) >= self.max_total and not self._evict(None):
            return self._refuse(transport, "the server's", self.max_total)
        if counted and self._per_address[address] >= self.limits.max_connections_per_address \
                and not self._evict(address):
            return self._refuse(transport, "one address's", self.limits.max_connections_per_address)
        sock = _Socket(transport, address, counted)
        self._sockets[transport] = sock
        if counted:
            self._per_address[address] += 1
        self._wait(sock)
        if len(self._waiting) > self.limits.max_waiting:
            self._evict(None)
        if counted and self._waiting_per_address[address] > self.limits.max_waiting_per_address:
            self._evict(address)
        return True

    def busy(self, transport: asyncio.BaseTransport | None) -> None:
        """A request's headers have arrived and its handler runs."""
        sock = self._sockets.get(transport) if transport is not None else None
        if sock is not None:
            self._stop_waiting(sock)

    def idle(self, transport: asyncio.BaseTransport | None) -> None:
        """The handler is done; the socket waits for another request (keep-alive) or its close."""
        sock = self._sockets.get(transport) if transport is not None else None
        if sock is not None and not sock.transport.is_closing() and transport not in self._waiting:
            self._wait(sock)

    def forget(self, transport: asyncio.BaseTransport) -> None:
        sock = self._sockets.pop(transport, None)
        if sock is None:
            return
        self._stop_waiting(sock)
        if sock.counted:
            self._per_address[sock.address] -= 1
            if self._per_address[sock.address] <= 0:
                del self._per_address[sock.address]

    # -- waiting ----------------------------------------------------------------------------------
    def _wait(self, sock: _Socket) -> None:
        self._waiting[sock.transport] = sock
        if sock.counted:
            self._waiting_per_address[sock.address] += 1
        sock.timer = asyncio.get_running_loop().call_later(self.limits.header_timeout_s, self._time_out, sock)

    def _stop_waiting(self, sock: _Socket) -> None:
        if self._waiting.pop(sock.transport, None) is None:
            return
        if sock.timer is not None:
            sock.timer.cancel()
            sock.timer = None
        if sock.counted:
            self._waiting_per_address[sock.address] -= 1
            if self._waiting_per_address[sock.address] <= 0:
                del self._waiting_per_address[sock.address]

    def _time_out(self, sock: _Socket) -> None:
        self.timed_out += 1
        self._close(sock)

    def _evict(self, address: str | None) -> bool:
        """Close the oldest waiting socket (of ``address``, or of anyone); ``False`` when none waits."""
        for sock in self._waiting.values():
            if address is None or sock.address == address:
                self.evicted += 1
                self._close(sock)
                return True
        return False

    def _close(self, sock: _Socket) -> None:
        self.forget(sock.transport)
        sock.transport.abort()  # frees the descriptor now; connection_lost follows

    def _refuse(self, transport: asyncio.Transport, what: str, limit: int) -> bool:
        self.refused += 1
        if self.refused == 1 or self.refused % 1000 == 0:
            log.warning("refusing connections: %s %d open connections are all in use (%d refused so far)",
                        what, limit, self.refused)
        transport.write(REFUSAL)
        transport.close()
        return False


class _GuardedProtocol(asyncio.Protocol):
    """aiohttp's request handler, seen by the guard first."""

    def __init__(self, guard: ConnectionGuard, inner: Any) -> None:
        self._guard = guard
        self._inner = inner
        self._transport: asyncio.BaseTransport | None = None

    @property
    def _admitted(self) -> bool:
        return self._transport is not None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        if self._guard.admit(transport):
            self._transport = transport
            self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._admitted:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._admitted else None  # type: ignore[no-any-return]

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._guard.forget(self._transport)
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._admitted:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._admitted:
            self._inner.resume_writing()


class GuardedSite(web.TCPSite):
    """``web.TCPSite`` whose sockets pass through a :class:`ConnectionGuard`."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, guard: ConnectionGuard) -> None:
        super().__init__(runner, host, port, reuse_address=True)
        self._guard = guard

    async def start(self) -> None:
        self._runner._reg_site(self)
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._guard.wrap(server), self._host, self._port,
                                                backlog=self._backlog, reuse_address=True)
        sockets = self._server.sockets
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port
