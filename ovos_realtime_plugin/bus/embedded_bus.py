"""An OVOS messagebus inside this process: ovos-messagebus's own handler, with TCP_NODELAY.

The stock ``ovos-messagebus`` leaves Nagle's algorithm on, so every request → reply hop costs
~45 ms (Nagle + delayed ACK); the same handler with ``set_nodelay(True)`` in ``open()`` answers in
a few ms. Setting it on the client side does nothing. It runs on its own thread with its own
event loop; bind it to loopback only — the bus has no auth and no routing.

ovos-messagebus keeps its connections in one module-global list, so one embedded bus per process.
Run it on its own: ``python -m ovos_realtime_plugin.bus.embedded_bus --port 8181``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import threading
from typing import Any, ClassVar

from ovos_messagebus.event_handler import MessageBusEventHandler
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application
from tornado.websocket import WebSocketClosedError

from ovos_realtime_plugin.bus.errors import ServiceStartError

logger = logging.getLogger(__name__)


class NoDelayHandler(MessageBusEventHandler):  # type: ignore[misc]
    """ovos-messagebus's handler; TCP_NODELAY on, and a closed peer never breaks a broadcast."""

    def open(self) -> None:
        self.set_nodelay(True)
        super().open()
        self.application.settings["bus"].joined(self)

    def on_close(self) -> None:
        with contextlib.suppress(ValueError):  # never made it into the global list
            super().on_close()
        self.application.settings["bus"].left(self)

    def write_message(self, message: Any, binary: bool = False) -> Any:
        # The stock broadcast loop writes to every client; one that is closing would raise and
        # cut the broadcast short for everyone after it in the list.
        try:
            return super().write_message(message, binary)
        except WebSocketClosedError:
            return None


class EmbeddedBus:
    """The messagebus on ``ws://host:port/route``; ``port=0`` picks a free one (see :attr:`port`)."""

    _running: ClassVar[EmbeddedBus | None] = None

    def __init__(self, host: str = "127.0.0.1", port: int = 8181, route: str = "/core"):
        self.host, self.port, self.route = host, port, route
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: HTTPServer | None = None
        self._clients: set[NoDelayHandler] = set()
        self._all_left: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}{self.route}"

    def start(self, timeout: float = 5.0) -> None:
        """Listen; returns once the port is bound. Raises :class:`ServiceStartError`."""
        if EmbeddedBus._running is not None:
            raise ServiceStartError(f"an embedded messagebus already runs in this process ({EmbeddedBus._running.url})")
        ready = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(ready, errors), name="ovos-embedded-bus", daemon=True)
        self._thread.start()
        if not ready.wait(timeout) or errors:
            raise ServiceStartError(f"embedded messagebus could not listen on {self.host}:{self.port}: "
                                    f"{errors[0] if errors else 'timed out'}")
        EmbeddedBus._running = self
        logger.info("embedded OVOS messagebus listening on %s", self.url)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening and drop every client (they see the connection close)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._loop = self._thread = None
        if EmbeddedBus._running is self:
            EmbeddedBus._running = None
        logger.info("embedded OVOS messagebus on %s stopped", self.url)

    # --- on the bus thread ---------------------------------------------------------------
    def joined(self, client: NoDelayHandler) -> None:
        self._clients.add(client)

    def left(self, client: NoDelayHandler) -> None:
        self._clients.discard(client)
        if not self._clients and self._all_left is not None:
            self._all_left.set()

    def _run(self, ready: threading.Event, errors: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            sockets = bind_sockets(self.port, self.host)
            app = Application([(self.route, NoDelayHandler)], bus=self)
            self._server = HTTPServer(app)
            self._server.add_sockets(sockets)
            self.port = sockets[0].getsockname()[1]
        except Exception as exc:
            errors.append(exc)
            ready.set()
            loop.close()
            return
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._all_left = asyncio.Event()
        clients = list(self._clients)
        for client in clients:
            client.close(1001, "messagebus stopping")
        if clients:
            try:
                await asyncio.wait_for(self._all_left.wait(), 1.0)
            except asyncio.TimeoutError:  # a peer that does not answer the close handshake: cut it off
                for client in list(self._clients):
                    if client.ws_connection is not None and client.ws_connection.stream is not None:
                        client.ws_connection.stream.close()
                    self.left(client)


def main() -> None:
    parser = argparse.ArgumentParser(description="OVOS messagebus with TCP_NODELAY (loopback only)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8181)
    parser.add_argument("--route", default="/core")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    bus = EmbeddedBus(args.host, args.port, args.route)
    bus.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"ready {bus.url}", flush=True)
    stop.wait()
    bus.stop()


if __name__ == "__main__":
    main()
