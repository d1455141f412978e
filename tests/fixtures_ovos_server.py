"""The Realtime server answered by the real OVOS skills, as the daemon wires it: one shared bus connection
to the ``ovos_stack`` messagebus, each Realtime connection its own OvosAssistant (``assistant_factory``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from ovos_realtime_plugin.bus.assistant import OvosAssistant, OvosAssistantSettings, assistant_factory
from ovos_realtime_plugin.bus.client import BusConnection
from ovos_realtime_plugin.core.assistant import AssistantBase, AssistantOutput, AssistantRequest
from ovos_realtime_plugin.core.session import SessionCore
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings
from tests.fixtures_ovos import OvosStack
from tests.fixtures_server import API_KEY, Served


@dataclass
class OvosRealtime(Served):
    bus: BusConnection
    stack: OvosStack
    assistants: dict[str, OvosAssistant] = field(default_factory=dict)
    """Realtime session id → its assistant."""
    closed: dict[str, asyncio.Event] = field(default_factory=dict)
    """Realtime session id → set once the server closed that session's assistant."""


class _Watched(AssistantBase):
    """The daemon's assistant, its ``close()`` also reported to the test."""

    def __init__(self, inner: OvosAssistant, closed: asyncio.Event) -> None:
        self.inner = inner
        self.closed = closed

    def respond(self, request: AssistantRequest) -> AsyncIterator[AssistantOutput]:
        return self.inner.respond(request)

    def close(self) -> None:
        self.inner.close()
        self.closed.set()


@pytest.fixture(scope="session")
async def ovos_realtime(ovos_stack: OvosStack) -> AsyncIterator[OvosRealtime]:
    bus = BusConnection(port=ovos_stack.port)
    await bus.connect()
    make = assistant_factory(bus, OvosAssistantSettings())
    running: OvosRealtime

    def factory(session: SessionCore) -> _Watched:
        assistant = running.assistants[session.id] = make(session)
        closed = running.closed[session.id] = asyncio.Event()
        return _Watched(assistant, closed)

    server = RealtimeServer(ServerSettings(port=0, api_keys=frozenset({API_KEY})), factory)
    running = OvosRealtime(server, bus, ovos_stack)
    await server.start()
    try:
        yield running
    finally:
        await server.stop()
        await bus.close()
