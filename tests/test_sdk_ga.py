"""The official openai SDK (GA path) against the real server."""

from __future__ import annotations

import json

import pytest
from openai import AsyncOpenAI

from tests.fixtures_server import API_KEY, Running
from tests.sdk_helpers import TEXT_FLOW, collect, squeeze, types, user_text


def client(realtime: Running) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=API_KEY, base_url=realtime.http)


async def test_text_turn_follows_flow_a1(realtime: Running) -> None:
    async with client(realtime).realtime.connect(model="gpt-realtime") as conn:
        first = await collect(conn, "session.created")
        assert first[0]["session"]["id"].startswith("sess_")
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        updated = await collect(conn, "session.updated")
        assert updated[-1]["session"]["output_modalities"] == ["text"]
        await conn.conversation.item.create(item=user_text("hello there"))
        added = await collect(conn, "conversation.item.done")
        assert types(added) == ["conversation.item.added", "conversation.item.done"]
        await conn.response.create()
        events = await collect(conn, "rate_limits.updated")
    assert squeeze(types(events)) == TEXT_FLOW + ["rate_limits.updated"]
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text.strip() == "You said: hello there."
    done = events[-2]["response"]
    assert done["status"] == "completed"
    assert done["usage"]["total_tokens"] == done["usage"]["input_tokens"] + done["usage"]["output_tokens"] > 0
    assert done["output"][0]["content"][0] == {"type": "output_text", "text": text}
    ids = [e["event_id"] for e in events]
    assert len(set(ids)) == len(ids)
    assert done["id"].startswith("resp_") and done["output"][0]["id"].startswith("item_")


async def test_function_call_round_trip(realtime: Running) -> None:
    tool = {"type": "function", "name": "get_weather", "description": "weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
    async with client(realtime).realtime.connect(model="gpt-realtime") as conn:
        await collect(conn, "session.created")
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"], "tools": [tool]})
        await collect(conn, "session.updated")
        await conn.conversation.item.create(item=user_text("what is the weather in Paris"))
        await collect(conn, "conversation.item.done")
        await conn.response.create()
        events = await collect(conn, "response.done")
        assert squeeze(types(events)) == [
            "response.created", "response.output_item.added", "conversation.item.added",
            "response.function_call_arguments.delta", "response.function_call_arguments.done",
            "conversation.item.done", "response.output_item.done", "response.done"]
        done_args = next(e for e in events if e["type"] == "response.function_call_arguments.done")
        assert done_args["name"] == "get_weather" and json.loads(done_args["arguments"]) == {"city": "Paris"}
        call_id = done_args["call_id"]
        assert call_id.startswith("call_")
        await conn.conversation.item.create(item={"type": "function_call_output", "call_id": call_id,
                                                  "output": "sunny, 21 C"})
        await collect(conn, "conversation.item.done")
        await conn.response.create()
        events = await collect(conn, "response.done")
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == "The tool said: sunny, 21 C."


async def test_out_of_band_response_adds_no_items(realtime: Running) -> None:
    async with client(realtime).realtime.connect(model="gpt-realtime") as conn:
        await collect(conn, "session.created")
        await conn.response.create(response={
            "conversation": "none", "output_modalities": ["text"], "metadata": {"topic": "probe"},
            "instructions": "be brief", "input": [user_text("classify this")]})
        events = await collect(conn, "response.done")
        assert not any(e["type"].startswith("conversation.item") for e in events)
        done = events[-1]["response"]
        assert done["metadata"] == {"topic": "probe"} and done["conversation_id"] is None
        text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
        assert text.startswith("[be brief] You said: classify this.")
        # the per-response overrides applied to that response only
        await conn.session.update(session={"type": "realtime"})
        session = (await collect(conn, "session.updated"))[-1]["session"]
        assert session["instructions"] == "" and session["output_modalities"] == ["audio"]


@pytest.mark.parametrize("phase", ["before_output", "mid_text"])
async def test_cancel_in_each_phase(realtime: Running, phase: str) -> None:
    async with client(realtime).realtime.connect(model="gpt-realtime") as conn:
        await collect(conn, "session.created")
        assistant = realtime.assistants[-1]
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await collect(conn, "session.updated")
        await conn.conversation.item.create(item=user_text("slow please"))
        await collect(conn, "conversation.item.done")
        await conn.response.create()
        until = "response.created" if phase == "before_output" else "response.output_text.delta"
        if phase == "mid_text":
            assistant.gate.put_nowait(None)
        await collect(conn, until)
        await conn.response.cancel()
        events = await collect(conn, "response.done")
        await assistant.cancelled.wait()
    done = events[-1]["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"] == {"type": "cancelled", "reason": "client_cancelled", "error": None} \
        or done["status_details"]["reason"] == "client_cancelled"
    if phase == "mid_text":
        assert done["output"][0]["status"] == "incomplete"
        assert "response.output_item.done" in types(events)
