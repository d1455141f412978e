"""ovos-realtime as an OVOS PHAL plugin: the device's own ``ovos-PHAL`` service runs the Realtime server.

ovos-PHAL loads every ``opm.phal`` entry point as ``plugin(bus=..., config=...)`` unless mycroft.conf says
``"PHAL": {"ovos-PHAL-plugin-realtime": {"enabled": false}}``. :class:`RealtimePhalPlugin` is a thread (what
OPM's ``PHALPlugin`` is) that runs the same daemon as ``ovos-realtime`` (:func:`ovos_realtime_plugin.cli.serve`):
settings from the ``"realtime"`` section of the device's mycroft.conf, joining the bus of its ``websocket`` section
(the device's own), waiting for the device's skills, speech engines loaded once. :meth:`shutdown` (called by
ovos-PHAL's newer releases) stops it: sessions closed, bus connection closed, port released. ovos-PHAL 0.2.12
(stable) never calls it: it stops on SIGTERM and returns from ``main()``. So the plugin also stops when the
interpreter begins to exit, before its thread pools are shut down (the daemon's stop still needs them).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from ovos_plugin_manager.templates.phal import PHALPlugin

from ovos_realtime_plugin.cli import log_like_ovos, serve, speech_loader
from ovos_realtime_plugin.daemon_settings import daemon_settings

logger = logging.getLogger(__name__)
PLUGIN_NAME = "ovos-PHAL-plugin-realtime"
"""The entry point's name: the plugin's key in mycroft.conf's ``PHAL`` section."""
STOP_TIMEOUT_S = 30.0


class RealtimePhalPlugin(PHALPlugin):  # type: ignore[misc]  # OPM is untyped
    def __init__(self, bus: Any = None, name: str = PLUGIN_NAME, config: dict[str, Any] | None = None) -> None:
        self._server_loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._serving = threading.Event()
        self._shut_down = False
        self.exit_code: int | None = None
        super().__init__(bus=bus, name=name, config=config)  # starts the thread: run()
        _before_thread_pools_stop(self.shutdown)

    def run(self) -> None:
        # This thread and every thread it starts (event loop, engines, bus) leave SIGTERM/SIGINT to the service:
        # CPython runs signal handlers in the main thread only, and ovos-PHAL's main thread sleeps in an untimed
        # wait that a signal taken by another thread does not wake (seen under strace: the service never stopped).
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        log_like_ovos()
        conf = dict(self.config_core)
        try:
            settings = daemon_settings(conf)
            settings.server.check()
        except ValueError as exc:
            logger.error("ovos-realtime not started: %s", exc)
            self._serving.set()
            return
        self.exit_code = asyncio.run(self._serve(settings, conf))
        logger.info("ovos-realtime PHAL plugin stopped (status %d)", self.exit_code)

    async def _serve(self, settings: Any, conf: dict[str, Any]) -> int:
        self._server_loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        self._serving.set()
        return await serve(settings, speech_loader(conf, settings), self._stop_event)

    def shutdown(self) -> None:
        """Stop the server and wait until it has (idempotent)."""
        self._serving.wait(STOP_TIMEOUT_S)
        loop, stop = self._server_loop, self._stop_event
        if loop is not None and stop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # the loop closed meanwhile: already stopped
                pass
        if self.is_alive() and threading.current_thread() is not self:
            self.join(STOP_TIMEOUT_S)
        if not self._shut_down:
            self._shut_down = True
            super().shutdown()


def _before_thread_pools_stop(call: Callable[[], None]) -> None:
    """Run ``call`` at interpreter exit while thread pools still take work. ``atexit`` is too late for that:
    ``concurrent.futures`` refuses new work from ``threading``'s own exit hooks on, which run first and newest
    first — so one registered there now runs before the pools' (registered when first imported)."""
    register: Callable[[Callable[[], None]], None] = getattr(threading, "_register_atexit")  # noqa: B009  # private, not in typeshed
    register(call)
