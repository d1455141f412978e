"""/healthz answers 503 ("bus down") while the messagebus is down and 200 again once the connection is back."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ovos_realtime_plugin.bus.client import BusConnection
from tests.fixtures_ovos import OvosStack
from tests.fixtures_server import start_server
from tests.sdk_helpers import TIMEOUT
from tests.test_metrics import http_get


async def health(port: int) -> tuple[int, dict[str, Any]]:
    status, _, body = await http_get(port, "/healthz")
    return status, json.loads(body)


async def test_healthz_is_503_while_the_bus_is_down(ovos_stack: OvosStack) -> None:
    connection = BusConnection(port=ovos_stack.port, source="ovos-realtime-healthz", reconnect_max_s=0.2)
    await connection.connect()
    served = await start_server()
    served.server.probe.bus_connected = lambda: connection.connected
    dropped = asyncio.Event()
    connection.subscribe("ovos-realtime-healthz", lambda _msg: None, lambda _reason: dropped.set())
    port = served.server.port
    try:
        status, body = await health(port)
        assert (status, body["status"], body["bus"]) == (200, "ok", True)
        await asyncio.to_thread(ovos_stack.stop_bus)
        try:
            await asyncio.wait_for(dropped.wait(), TIMEOUT)
            status, body = await health(port)
            assert (status, body["status"], body["bus"]) == (503, "bus down", False)
        finally:
            await asyncio.to_thread(ovos_stack.start_bus)
        await connection.wait_connected(TIMEOUT)
        status, body = await health(port)
        assert (status, body["status"], body["bus"]) == (200, "ok", True)
        await ovos_stack.skills.wait_ready(60.0)  # the next tests need the skills back too
    finally:
        await served.server.stop()
        await connection.close()
