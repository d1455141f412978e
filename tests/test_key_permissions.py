"""Per-key permissions over the real OVOS stack: a key limited to one skill sees only its intents as tools and
cannot reach another skill by utterance (its OVOS session blacklists the rest); a plain key reaches all."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect

from ovos_realtime_plugin.bus.assistant import OvosAssistantSettings
from ovos_realtime_plugin.bus.dialogs import Dialogs
from ovos_realtime_plugin.llm.responders import Responders
from ovos_realtime_plugin.server.api_keys import ApiKey
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings
from tests.fixtures_intents import HOLD_S, ToolsRealtime, intents_server
from tests.fixtures_llm import LlmRealtime, say
from tests.fixtures_ovos import TIME_LIKE, OvosStack
from tests.fixtures_server import API_KEY, Served
from tests.sdk_helpers import user_text
from tests.test_errors import Raw

HELLO_SKILL = "ovos-skill-hello-world.openvoiceos"
HELLO_ONLY = ApiKey("sk-hello-only", "hello tablet", allow_skills=frozenset({HELLO_SKILL}))


@pytest.fixture(scope="module")
async def keyed(ovos_stack: OvosStack) -> AsyncIterator[Served]:
    async with intents_server(ovos_stack, "ovos-realtime-keys", key_entries=(HELLO_ONLY,)) as served:
        yield served


async def answer(raw: Raw, text: str) -> str:
    await raw.item(user_text(text))
    await raw.send({"type": "response.create"})
    events = await raw.until("response.done")
    return "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")


async def tools_and_answer(served: Served, key: str) -> tuple[list[str], str, str]:
    url = f"{served.url}/realtime?model=gpt-realtime"
    async with connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        raw = Raw(ws)
        await raw.until("session.created")
        await raw.send({"type": "session.update", "session": {
            "type": "realtime", "output_modalities": ["text"], "tools": [{"type": "mcp", "server_label": "ovos"}]}})
        await raw.until("mcp_list_tools.completed")
        tools = (await raw.until("conversation.item.done"))[-1]["item"]["tools"]
        return [t["name"] for t in tools], await answer(raw, "what time is it"), await answer(raw, "hello world")


async def test_a_key_limited_to_one_skill(keyed: Served) -> None:
    names, time_answer, hello_answer = await tools_and_answer(keyed, "sk-hello-only")
    assert names and all(n.startswith("ovos-skill-hello-world") for n in names), names
    unknown = Dialogs("unknown").variants("en-US")  # "I don't know that one" is no time either
    assert time_answer in unknown or not TIME_LIKE.search(time_answer), time_answer
    assert "hello" in hello_answer.lower() or "hi" in hello_answer.lower()
    all_names, time_answer, _ = await tools_and_answer(keyed, API_KEY)
    assert any(n.startswith("ovos-skill-date-time") for n in all_names)
    assert TIME_LIKE.search(time_answer), time_answer


@contextlib.asynccontextmanager
async def llm_server(llm: LlmRealtime, tools_realtime: ToolsRealtime, *keys: ApiKey) -> AsyncIterator[Served]:
    """A server answering with the scripted LLM (OVOS first) and the OVOS intents as its tools, with ``keys``."""
    settings = OvosAssistantSettings(intent_output_wait_s=HOLD_S, fallback_skill_id="ovos-realtime-keys.fallback")
    responders = Responders(tools_realtime.bus, settings, tools_realtime.intents, llm.ovos_first_backend)
    server = RealtimeServer(ServerSettings(port=0, api_keys=frozenset({API_KEY}), key_entries=keys), responders)
    await server.start()
    try:
        yield Served(server)
    finally:
        await server.stop()
        responders.close()


async def text_reply(served: Served, key: str, text: str) -> str:
    async with connect(f"{served.url}/realtime?model=gpt-realtime",
                       additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        raw = Raw(ws)
        await raw.until("session.created")
        await raw.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}})
        await raw.until("session.updated")
        return await answer(raw, text)


async def test_a_key_without_the_llm_gets_the_skills_alone(llm: LlmRealtime, tools_realtime: ToolsRealtime) -> None:
    async with llm_server(llm, tools_realtime, ApiKey("sk-no-llm", "no llm", allow_llm=False)) as served:
        llm.chat.script.append(say("Air scatters blue light."))
        assert await text_reply(served, "sk-no-llm", "why is the sky blue") in Dialogs("unknown").variants("en-US")
        assert llm.chat.requests == []
        assert await text_reply(served, API_KEY, "why is the sky blue") == "Air scatters blue light."
        assert len(llm.chat.requests) == 1


async def test_the_llm_is_offered_only_the_intents_a_key_allows(llm: LlmRealtime,
                                                                tools_realtime: ToolsRealtime) -> None:
    async with llm_server(llm, tools_realtime, HELLO_ONLY) as served:
        llm.chat.script.extend([say("Air scatters blue light."), say("Air scatters blue light.")])
        for key in ("sk-hello-only", API_KEY):
            assert await text_reply(served, key, "why is the sky blue") == "Air scatters blue light."
    limited, full = ([t["function"]["name"] for t in request.get("tools", ())] for request in llm.chat.requests)
    assert limited and all(n.startswith("ovos-skill-hello-world") for n in limited), limited
    assert any(n.startswith("ovos-skill-date-time") for n in full), full
