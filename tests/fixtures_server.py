"""A real ovos-realtime server on a free port, with the scripted assistant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from ovos_realtime_plugin.core.session import SessionCore
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings
from ovos_realtime_plugin.server.speech_engines import SpeechEngines
from tests.scripted import ScriptedAssistant

API_KEY = "sk-test-local"


@dataclass
class Served:
    """A running server and its addresses: ``url`` for WebSocket clients, ``http`` as an SDK's base_url."""

    server: RealtimeServer

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}/v1"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/v1"


@dataclass
class Running(Served):
    assistants: list[ScriptedAssistant] = field(default_factory=list)


async def start_server(speech: SpeechEngines | None = None, **settings: object) -> Running:
    running: Running

    def factory(session: SessionCore) -> ScriptedAssistant:
        assistant = ScriptedAssistant()
        running.assistants.append(assistant)
        return assistant

    settings.setdefault("api_keys", frozenset({API_KEY}))  # api_keys=frozenset(): no keys, loopback only
    server = RealtimeServer(ServerSettings(port=0, **settings), factory, speech=speech)  # type: ignore[arg-type]
    running = Running(server)
    await server.start()
    return running


@pytest.fixture(scope="session")
async def realtime() -> AsyncIterator[Running]:
    running = await start_server()
    yield running
    await running.server.stop()
