"""The real Realtime server answered by the real OVOS stack (tests/fixtures_ovos.py), with the intent
catalogue: the server the tool tests (MCP intents, function tools with examples) talk to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from ovos_realtime_plugin.bus.assistant import OvosAssistantSettings, assistant_factory
from ovos_realtime_plugin.bus.client import BusConnection
from ovos_realtime_plugin.bus.intents import IntentCatalogue
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings
from tests.fixtures_ovos import SKILLS_DIR, TEST_SKILL_ID, OvosStack
from tests.fixtures_server import API_KEY, Served

HOLD_S = 0.5
"""How long an intent's speech waits for its handler before its mcp_call is shown (test skill holds 10 s)."""


@dataclass
class ToolsRealtime(Served):
    bus: BusConnection
    intents: IntentCatalogue


@pytest.fixture(scope="session")
async def tools_realtime(ovos_stack: OvosStack) -> AsyncIterator[ToolsRealtime]:
    bus = BusConnection(port=ovos_stack.port, source="ovos-realtime-tools")
    await bus.connect()
    # the test skill is loaded by the child from tests/skills: not an entry point of this Python
    intents = IntentCatalogue(bus, skill_dirs={TEST_SKILL_ID: SKILLS_DIR / "ovos_realtime_test_skill"})
    await intents.refresh()
    factory = assistant_factory(bus, OvosAssistantSettings(intent_output_wait_s=HOLD_S), intents)
    server = RealtimeServer(ServerSettings(port=0, api_keys=frozenset({API_KEY})), factory)
    await server.start()  # each session's assistant is closed by the server when the session ends
    yield ToolsRealtime(server, bus, intents)
    await server.stop()
    intents.close()
    await bus.close()
