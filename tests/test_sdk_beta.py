"""The official openai SDK (beta path, ``OpenAI-Beta: realtime=v1``) against the real server."""

from __future__ import annotations

import json

from openai import AsyncOpenAI

from tests.fixtures_server import API_KEY, Running
from tests.sdk_helpers import collect, squeeze, types, user_text

MODEL = "gpt-4o-realtime-preview"
BETA_TEXT_FLOW = [
    "response.created", "response.output_item.added", "conversation.item.created", "response.content_part.added",
    "response.text.delta", "response.text.done", "response.content_part.done", "response.output_item.done",
    "response.done", "rate_limits.updated",
]
WEATHER_TOOL = {"type": "function", "name": "get_weather", "description": "weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


def client(realtime: Running) -> AsyncOpenAI:
    # the beta SDK forces wss:// from base_url; websocket_base_url is the way to a local server
    return AsyncOpenAI(api_key=API_KEY, websocket_base_url=realtime.url)


async def test_session_created_has_the_flat_beta_shape(realtime: Running) -> None:
    async with client(realtime).beta.realtime.connect(model=MODEL) as conn:
        first = await collect(conn, "session.created", beta=True)
    assert types(first) == ["session.created"]
    session = first[0]["session"]
    assert session["id"].startswith("sess_") and session["object"] == "realtime.session"
    assert session["modalities"] == ["text", "audio"]
    assert session["input_audio_format"] == "pcm16" and session["output_audio_format"] == "pcm16"
    assert session["voice"] == "alloy"
    assert session["turn_detection"]["type"] == "server_vad"
    for ga_only in ("type", "audio", "output_modalities"):
        assert ga_only not in session


async def test_text_turn_follows_flow_a1_with_beta_names(realtime: Running) -> None:
    async with client(realtime).beta.realtime.connect(model=MODEL) as conn:
        await collect(conn, "session.created", beta=True)
        await conn.session.update(session={"modalities": ["text"]})
        updated = await collect(conn, "session.updated", beta=True)
        assert updated[-1]["session"]["modalities"] == ["text"]
        await conn.conversation.item.create(item=user_text("hello there"))
        added = await collect(conn, "conversation.item.created", beta=True)
        assert [t for t in types(added) if t.startswith("conversation.item")] == ["conversation.item.created"]
        await conn.response.create()
        events = await collect(conn, "rate_limits.updated", beta=True)
    assert squeeze(types(events)) == BETA_TEXT_FLOW
    assert "conversation.item.done" not in types(events)
    text = "".join(e["delta"] for e in events if e["type"] == "response.text.delta")
    assert text.strip() == "You said: hello there."
    assert next(e for e in events if e["type"] == "response.text.done")["text"] == text
    done = events[-2]["response"]
    assert done["status"] == "completed" and done["modalities"] == ["text"]
    assert done["output"][0]["content"] == [{"type": "text", "text": text}]
    item_created = next(e for e in events if e["type"] == "conversation.item.created")
    assert item_created["item"]["status"] == "in_progress" and item_created["item"]["content"] == []
    assert "image_tokens" not in done["usage"]["input_token_details"]


async def test_function_call_round_trip_has_no_name_in_arguments_done(realtime: Running) -> None:
    async with client(realtime).beta.realtime.connect(model=MODEL) as conn:
        await collect(conn, "session.created", beta=True)
        await conn.session.update(session={"modalities": ["text"], "tools": [WEATHER_TOOL]})
        await collect(conn, "session.updated", beta=True)
        await conn.conversation.item.create(item=user_text("what is the weather in Paris"))
        await collect(conn, "conversation.item.created", beta=True)
        await conn.response.create()
        events = await collect(conn, "response.done", beta=True)
        assert squeeze(types(events)) == [
            "response.created", "response.output_item.added", "conversation.item.created",
            "response.function_call_arguments.delta", "response.function_call_arguments.done",
            "response.output_item.done", "response.done"]
        done_args = next(e for e in events if e["type"] == "response.function_call_arguments.done")
        assert "name" not in done_args
        assert json.loads(done_args["arguments"]) == {"city": "Paris"}
        call = events[-1]["response"]["output"][0]
        assert call["type"] == "function_call" and call["name"] == "get_weather"
        assert call["call_id"] == done_args["call_id"]
        await conn.conversation.item.create(item={"type": "function_call_output", "call_id": done_args["call_id"],
                                                  "output": "sunny, 21 C"})
        await collect(conn, "conversation.item.created", beta=True)
        await conn.response.create()
        events = await collect(conn, "response.done", beta=True)
    text = "".join(e["delta"] for e in events if e["type"] == "response.text.delta")
    assert text == "The tool said: sunny, 21 C."


async def test_bad_beta_enum_names_the_beta_parameter(realtime: Running) -> None:
    async with client(realtime).beta.realtime.connect(model=MODEL) as conn:
        await collect(conn, "session.created", beta=True)
        await conn.session.update(session={"input_audio_format": "g711-ulaw"},
                                  event_id="evt_beta_enum")
        await conn.session.update(session={"instructions": "still here"})
        events = await collect(conn, "session.updated", beta=True)
    errors = [e["error"] for e in events if e["type"] == "error"]
    assert errors == [{"type": "invalid_request_error", "code": "invalid_value",
                       "message": "Invalid value: 'g711-ulaw'. Supported values are: 'pcm16', 'g711_ulaw', and "
                                  "'g711_alaw'.",
                       "param": "session.input_audio_format", "event_id": "evt_beta_enum"}]
    session = events[-1]["session"]
    assert session["instructions"] == "still here" and session["input_audio_format"] == "pcm16"


async def test_beta_transcription_session(realtime: Running) -> None:
    async with client(realtime).beta.realtime.connect(model=MODEL, extra_query={"intent": "transcription"}) as conn:
        first = await collect(conn, "transcription_session.created", beta=True)
        assert types(first) == ["transcription_session.created"]
        assert first[0]["session"]["object"] == "realtime.transcription_session"
        await conn.transcription_session.update(session={
            "input_audio_transcription": {"model": "whisper-1", "language": "en"}, "turn_detection": None})
        events = await collect(conn, "transcription_session.updated", beta=True)
    assert types(events) == ["transcription_session.updated"]
    session = events[-1]["session"]
    assert session["input_audio_transcription"] == {"model": "whisper-1", "language": "en"}
    assert session["turn_detection"] is None
