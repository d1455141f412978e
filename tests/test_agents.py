"""openai-agents' RealtimeRunner against the real server: a text turn and a function-tool round trip."""

from __future__ import annotations

import asyncio
from typing import Any

from agents import function_tool
from agents.realtime import RealtimeAgent, RealtimeRunner

from tests.fixtures_server import API_KEY, Running

calls: list[str] = []


@function_tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    calls.append(city)
    return f"sunny in {city}"


async def run_turn(realtime: Running, text: str, agent_ends: int) -> tuple[list[Any], list[Any]]:
    agent = RealtimeAgent(name="A", instructions="", tools=[get_weather])
    runner = RealtimeRunner(agent, config={"model_settings": {"model_name": "gpt-realtime",
                                                               "modalities": ["text"]}})
    session = await runner.run(model_config={"url": f"{realtime.url}/realtime?model=gpt-realtime",
                                             "api_key": API_KEY})
    events: list[Any] = []
    errors: list[Any] = []
    async with session:
        await session.send_message(text)

        async def consume() -> None:
            ends = 0
            async for event in session:
                events.append(event)
                if event.type == "error":
                    errors.append(event)
                if event.type == "agent_end":
                    ends += 1
                    if ends == agent_ends:
                        return

        await asyncio.wait_for(consume(), 30)
    return events, errors


def assistant_texts(events: list[Any]) -> list[str]:
    texts = []
    for event in events:
        if event.type == "history_added" and getattr(event.item, "role", None) == "assistant":
            texts.extend(getattr(c, "text", None) or getattr(c, "transcript", "") or "" for c in event.item.content)
    return texts


async def test_agents_text_turn(realtime: Running) -> None:
    events, errors = await run_turn(realtime, "good morning", 1)
    assert errors == []
    kinds = {e.type for e in events}
    assert {"agent_start", "agent_end"} <= kinds
    assert realtime.assistants[-1].requests[-1].items[-1].text() == "good morning"


async def test_agents_function_tool_round_trip(realtime: Running) -> None:
    calls.clear()
    events, errors = await run_turn(realtime, "weather in Oslo please", 2)
    assert errors == []
    assert calls == ["Oslo"]
    kinds = [e.type for e in events]
    assert "tool_start" in kinds and "tool_end" in kinds
    # the follow-up response saw the tool's output
    last = realtime.assistants[-1].requests[-1]
    assert last.items[-1].type == "function_call_output" and last.items[-1].output == "sunny in Oslo"
