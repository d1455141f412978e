"""The daemon's status on the messagebus, the OVOS way: ``mycroft.<name>.is_alive`` / ``is_ready``.

:class:`ovos_utils.process_utils.ProcessStatus` keeps the state (started → alive → ready → stopping,
or error) and answers the queries through a ``MessageBusClient``; :class:`ServiceStatus` answers
them through our :class:`~.client.BusConnection` instead, with the same reply: ``{"status": bool}``
as ``<query>.response``, the query's context copied.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from ovos_utils.process_utils import ProcessStatus, StatusCallbackMap

from ovos_realtime_plugin.bus import names
from ovos_realtime_plugin.bus.client import BusConnection, BusMessage, OnMessage, TypeSubscription
from ovos_realtime_plugin.bus.errors import BusUnavailableError

logger = logging.getLogger(__name__)


class ServiceStatus(ProcessStatus):  # type: ignore[misc]
    """``set_started()`` … ``set_ready()``, ``set_stopping()``, ``set_error(why)``; each change is logged."""

    def __init__(self, name: str) -> None:
        super().__init__(name, callback_map=StatusCallbackMap(
            on_started=lambda: logger.info("%s started", name),
            on_alive=lambda: logger.info("%s alive", name),
            on_ready=lambda: logger.info("%s ready", name),
            on_stopping=lambda: logger.info("%s stopping", name),
            on_error=lambda err: logger.error("%s failed: %s", name, err)))
        self._subscriptions: list[TypeSubscription] = []

    def bind(self, bus: BusConnection) -> None:
        """Answer the status queries on ``bus`` from now on (until :meth:`unbind`)."""
        self.unbind()
        checks: dict[str, Callable[[], bool]] = {
            "is_alive": self.check_alive, "is_ready": self.check_ready,
            "all_loaded": self.check_ready}  # the legacy name ProcessStatus also answers
        for query, check in checks.items():
            msg_type = names.status_query(self.name, query)
            self._subscriptions.append(bus.subscribe_type(msg_type, _answerer(bus, check)))

    def unbind(self) -> None:
        for sub in self._subscriptions:
            sub.cancel()
        self._subscriptions.clear()


def _answerer(bus: BusConnection, check: Callable[[], bool]) -> OnMessage:
    def answer(msg: BusMessage) -> None:
        with contextlib.suppress(BusUnavailableError):  # dropped since the query came: nobody to answer
            bus.reply(msg, {"status": bool(check())})
    return answer
