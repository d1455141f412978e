"""The real Realtime server answered by the real OVOS stack (tests/fixtures_ovos.py), with the intent
catalogue: the server the tool tests (MCP intents, function tools with examples) talk to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

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


@asynccontextmanager
async def intents_server(ovos_stack: OvosStack, source: str, **settings: Any) -> AsyncIterator[ToolsRealtime]:
    """A server on the OVOS stack with its own bus connection and intent catalogue; ``settings`` go to
    :class:`ServerSettings` (the test API key is always accepted)."""
    bus = BusConnection(port=ovos_stack.port, source=source)
    await bus.connect()
    # the test skill is loaded by the child from tests/skills: not an entry point of this Python
    intents = IntentCatalogue(bus, skill_dirs={TEST_SKILL_ID: SKILLS_DIR / "ovos_realtime_test_skill"})
    await intents.refresh()
    factory = assistant_factory(bus, OvosAssistantSettings(intent_output_wait_s=HOLD_S), intents)
    server = RealtimeServer(ServerSettings(port=0, api_keys=frozenset({API_KEY}), **settings), factory)
    await server.start()  # each session's assistant is closed by the server when the session ends
    try:
        yield ToolsRealtime(server, bus, intents)
    finally:
        await server.stop()
        intents.close()
        await bus.close()


@pytest.fixture(scope="session")
async def tools_realtime(ovos_stack: OvosStack) -> AsyncIterator[ToolsRealtime]:
    async with intents_server(ovos_stack, "ovos-realtime-tools") as served:
        yield served
