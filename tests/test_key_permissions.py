"""Per-key permissions over the real OVOS stack: a key limited to one skill sees only its intents as tools and
cannot reach another skill by utterance (its OVOS session blacklists the rest); a plain key reaches all."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect

from ovos_realtime_plugin.server.api_keys import ApiKey
from tests.fixtures_intents import intents_server
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
    assert not TIME_LIKE.search(time_answer), time_answer
    assert "hello" in hello_answer.lower() or "hi" in hello_answer.lower()
    all_names, time_answer, _ = await tools_and_answer(keyed, API_KEY)
    assert any(n.startswith("ovos-skill-date-time") for n in all_names)
    assert TIME_LIKE.search(time_answer), time_answer
