"""/healthz answers 503 while the messagebus is down and 200 again once the connection is back."""

from __future__ import annotations

import asyncio

from ovos_realtime_plugin.bus.client import BusConnection
from tests.fixtures_ovos import OvosStack
from tests.fixtures_server import start_server
from tests.sdk_helpers import TIMEOUT
from tests.test_daemon import http_status


async def test_healthz_is_503_while_the_bus_is_down(ovos_stack: OvosStack) -> None:
    connection = BusConnection(port=ovos_stack.port, source="ovos-realtime-healthz", reconnect_max_s=0.2)
    await connection.connect()
    served = await start_server()
    served.server.healthy = lambda: connection.connected
    dropped = asyncio.Event()
    connection.subscribe("ovos-realtime-healthz", lambda _msg: None, lambda _reason: dropped.set())
    try:
        assert await http_status(served.server.port) == 200
        await asyncio.to_thread(ovos_stack.stop_bus)
        try:
            await asyncio.wait_for(dropped.wait(), TIMEOUT)
            assert await http_status(served.server.port) == 503
        finally:
            await asyncio.to_thread(ovos_stack.start_bus)
        await connection.wait_connected(TIMEOUT)
        assert await http_status(served.server.port) == 200
        await ovos_stack.skills.wait_ready(60.0)  # the next tests need the skills back too
    finally:
        await served.server.stop()
        await connection.close()
