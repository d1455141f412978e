"""Bad input and connection failures over a raw WebSocket (PROTOCOL.md §1.3, §5e).

Every bad client event gets exactly one ``error`` with the protocol's code and param, echoing the
client's ``event_id``, and the session goes on: each test ends with a ``session.update`` probe whose
``session.updated`` proves it (and, since frames are handled in order, that no second error came).
"""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from ovos_realtime_plugin.core.client_events import CLIENT_EVENTS
from ovos_realtime_plugin.core.ratelimit import RateLimitSettings
from tests.fixtures_server import API_KEY, Running, start_server
from tests.sdk_helpers import TIMEOUT, check_typed, types, user_text

AUTH = {"Authorization": f"Bearer {API_KEY}"}
PCM_100MS = b"\x00\x00" * 2400  # 100 ms of PCM16 at 24 kHz


def ws_url(realtime: Running, query: str = "model=gpt-realtime") -> str:
    return f"{realtime.url}/realtime?{query}"


class Raw:
    """A raw client: sends any frame, reads events validated against the GA SDK's union."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, frame: dict[str, Any] | str | bytes) -> None:
        await self.ws.send(json.dumps(frame) if isinstance(frame, dict) else frame)

    async def recv(self) -> dict[str, Any]:
        raw: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), TIMEOUT))
        check_typed(raw, beta=False)
        return raw

    async def until(self, kind: str, limit: int = 200) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for _ in range(limit):
            events.append(await self.recv())
            if events[-1]["type"] == kind:
                return events
        raise AssertionError(f"no {kind} in {types(events)}")

    async def probe(self) -> list[dict[str, Any]]:
        """A harmless update: everything the server sent before its ``session.updated``."""
        await self.send({"type": "session.update", "event_id": "evt_probe", "session": {"type": "realtime"}})
        return await self.until("session.updated")

    async def one_error(self, frame: dict[str, Any] | str | bytes,
                        kind: str = "invalid_request_error") -> dict[str, Any]:
        """Send ``frame``; exactly one ``error`` (of type ``kind``) comes back and the session still answers."""
        await self.send(frame)
        events = await self.probe()
        errors = [e for e in events if e["type"] == "error"]
        assert len(errors) == 1, types(events)
        assert events[-1]["type"] == "session.updated"
        error = errors[0]["error"]
        assert error["type"] == kind
        return dict(error)

    async def item(self, item: dict[str, Any]) -> str:
        await self.send({"type": "conversation.item.create", "item": item})
        events = await self.until("conversation.item.done")
        return str(events[-1]["item"]["id"])


@asynccontextmanager
async def session(realtime: Running) -> AsyncIterator[Raw]:
    """A connected text-only session with manual commits."""
    async with connect(ws_url(realtime), additional_headers=AUTH) as ws:
        raw = Raw(ws)
        assert (await raw.recv())["type"] == "session.created"
        await raw.send({"type": "session.update", "session": {
            "type": "realtime", "output_modalities": ["text"], "audio": {"input": {"turn_detection": None}}}})
        await raw.until("session.updated")
        yield raw


# -- malformed frames -------------------------------------------------------------------------------

async def test_invalid_json(realtime: Running) -> None:
    async with session(realtime) as raw:
        error = await raw.one_error('{"type": "session.update", "event_id": ')
    assert error["code"] == "invalid_json" and error["param"] is None and error["event_id"] is None
    assert error["message"].startswith("Invalid event: failed to parse JSON value.")


async def test_binary_frame(realtime: Running) -> None:
    async with session(realtime) as raw:
        error = await raw.one_error(b'{"type": "response.create"}')
    assert error["code"] == "invalid_event" and error["param"] is None
    assert error["message"] == "Expected a text WebSocket message; binary frames are not supported."


async def test_unknown_type(realtime: Running) -> None:
    async with session(realtime) as raw:
        error = await raw.one_error({"type": "nope", "event_id": "evt_nope"})
    assert error["code"] == "invalid_value" and error["param"] == "type"
    assert error["event_id"] == "evt_nope"
    assert error["message"].startswith("Invalid value: 'nope'. Supported values are: 'session.update', ")
    assert all(f"'{name}'" in error["message"] for name in CLIENT_EVENTS)


async def test_unknown_field_discards_the_whole_update(realtime: Running) -> None:
    async with session(realtime) as raw:
        error = await raw.one_error({"type": "session.update", "event_id": "evt_bogus", "session": {
            "type": "realtime", "instructions": "this must not apply", "bogus_field": 1}})
        assert error["code"] == "unknown_parameter" and error["param"] == "session.bogus_field"
        assert error["message"] == "Unknown parameter: 'session.bogus_field'."
        assert error["event_id"] == "evt_bogus"
        updated = (await raw.probe())[-1]["session"]
    assert updated["instructions"] == ""


async def test_ga_update_without_session_type(realtime: Running) -> None:
    async with session(realtime) as raw:
        error = await raw.one_error({"type": "session.update", "event_id": "evt_notype",
                                     "session": {"instructions": "x"}})
        updated = (await raw.probe())[-1]["session"]
    assert error == {"type": "invalid_request_error", "code": "missing_required_parameter",
                     "message": "Missing required parameter: 'session.type'.", "param": "session.type",
                     "event_id": "evt_notype"}
    assert updated["instructions"] == ""


async def test_bad_enum(realtime: Running) -> None:
    async with session(realtime) as raw:
        error = await raw.one_error({"type": "session.update", "event_id": "evt_enum",
                                     "session": {"type": "realtime", "output_modalities": ["video"]}})
        updated = (await raw.probe())[-1]["session"]
    assert error["code"] == "invalid_value" and error["param"] == "session.output_modalities[0]"
    assert error["message"] == "Invalid value: 'video'. Supported values are: 'text' and 'audio'."
    assert error["event_id"] == "evt_enum"
    assert updated["output_modalities"] == ["text"]


async def test_rate_below_minimum(realtime: Running) -> None:
    async with session(realtime) as raw:
        error = await raw.one_error({"type": "session.update", "event_id": "evt_rate", "session": {
            "type": "realtime", "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}}})
    assert error["code"] == "integer_below_min_value"
    assert error["param"] == "session.audio.input.format.rate"
    assert "Expected a value >= 24000" in error["message"]
    assert error["event_id"] == "evt_rate"


async def test_bad_base64_audio(realtime: Running) -> None:
    async with session(realtime) as raw:
        error = await raw.one_error({"type": "input_audio_buffer.append", "event_id": "evt_b64",
                                     "audio": "not base64!!"})
    assert error["code"] == "invalid_value" and error["param"] == "audio"
    assert error["message"].startswith("Invalid 'audio'. Expected base64-encoded audio bytes")
    assert error["event_id"] == "evt_b64"


async def test_empty_commit(realtime: Running) -> None:
    async with session(realtime) as raw:
        error = await raw.one_error({"type": "input_audio_buffer.commit", "event_id": "evt_commit"})
    assert error["code"] == "input_audio_buffer_commit_empty" and error["param"] is None
    assert error["message"] == ("Error committing input audio buffer: buffer too small. Expected at least 100ms "
                                "of audio, but buffer only has 0.00ms of audio.")
    assert error["event_id"] == "evt_commit"


async def test_second_response_create_while_active(realtime: Running) -> None:
    async with session(realtime) as raw:
        assistant = realtime.assistants[-1]
        await raw.item(user_text("slow please"))
        await raw.send({"type": "response.create", "event_id": "evt_first"})
        created = (await raw.until("response.created"))[-1]["response"]
        error = await raw.one_error({"type": "response.create", "event_id": "evt_second"})
        assert error["code"] == "conversation_already_has_active_response" and error["param"] is None
        assert error["event_id"] == "evt_second"
        assert error["message"] == (f"Conversation already has an active response in progress: {created['id']}. "
                                    "Wait until the response is finished before creating a new one.")
        for _ in range(3):
            assistant.gate.put_nowait(None)
        events = await raw.until("response.done")
    done = events[-1]["response"]
    assert done["id"] == created["id"] and done["status"] == "completed"
    assert "error" not in types(events)


async def test_cancel_with_nothing_active(realtime: Running) -> None:
    async with session(realtime) as raw:
        error = await raw.one_error({"type": "response.cancel", "event_id": "evt_cancel"})
    assert error["code"] == "response_cancel_not_active" and error["param"] is None
    assert error["message"] == "Cancellation failed: no active response found"
    assert error["event_id"] == "evt_cancel"


@pytest.mark.parametrize("frame", [
    {"type": "conversation.item.retrieve", "item_id": "item_missing"},
    {"type": "conversation.item.delete", "item_id": "item_missing"},
    {"type": "conversation.item.truncate", "item_id": "item_missing", "content_index": 0, "audio_end_ms": 0},
], ids=lambda f: f["type"])
async def test_unknown_item_id(realtime: Running, frame: dict[str, Any]) -> None:
    async with session(realtime) as raw:
        error = await raw.one_error({**frame, "event_id": "evt_unknown"})
    assert error["param"] == "item_id" and error["code"]
    assert "item_missing" in error["message"]
    assert error["event_id"] == "evt_unknown"


async def test_unknown_previous_item_id(realtime: Running) -> None:
    async with session(realtime) as raw:
        error = await raw.one_error({"type": "conversation.item.create", "event_id": "evt_prev",
                                     "previous_item_id": "item_missing", "item": user_text("orphan")})
        await raw.send({"type": "response.create", "response": {"conversation": "none", "input": []}})
        done = (await raw.until("response.done"))[-1]["response"]
    assert error["param"] == "previous_item_id" and error["code"]
    assert error["event_id"] == "evt_prev"
    assert done["status"] == "completed"


async def test_truncate_bounds(realtime: Running) -> None:
    async with session(realtime) as raw:
        text_id = await raw.item(user_text("not audio"))
        negative = await raw.one_error({"type": "conversation.item.truncate", "event_id": "evt_neg",
                                        "item_id": text_id, "content_index": 0, "audio_end_ms": -11})
        not_audio = await raw.one_error({"type": "conversation.item.truncate", "event_id": "evt_text",
                                         "item_id": text_id, "content_index": 0, "audio_end_ms": 0})
        audio_id = await raw.item({"type": "message", "role": "assistant", "content": [
            {"type": "output_audio", "transcript": "hello", "audio": base64.b64encode(PCM_100MS).decode()}]})
        too_long = await raw.one_error({"type": "conversation.item.truncate", "event_id": "evt_long",
                                        "item_id": audio_id, "content_index": 0, "audio_end_ms": 5000})
        await raw.send({"type": "conversation.item.truncate", "item_id": audio_id, "content_index": 0,
                        "audio_end_ms": 50})
        truncated = (await raw.until("conversation.item.truncated"))[-1]
    assert negative["code"] == "integer_below_min_value" and negative["param"] == "audio_end_ms"
    assert "Expected a value >= 0, but got -11 instead." in negative["message"]
    assert negative["event_id"] == "evt_neg"
    assert not_audio["code"] == "unsupported_content_type"
    assert not_audio["message"] == "Only model output audio messages can be truncated"
    assert not_audio["event_id"] == "evt_text"
    assert too_long["param"] == "audio_end_ms" and too_long["event_id"] == "evt_long"
    assert too_long["message"] == "Audio content of 100ms is already shorter than 5000ms"
    assert (truncated["item_id"], truncated["audio_end_ms"]) == (audio_id, 50)


async def test_missing_item_type(realtime: Running) -> None:
    async with session(realtime) as raw:
        error = await raw.one_error({"type": "conversation.item.create", "event_id": "evt_item",
                                     "item": {"role": "user", "content": [{"type": "input_text", "text": "x"}]}})
    assert error == {"type": "invalid_request_error", "code": "missing_required_parameter",
                     "message": "Missing required parameter: 'item.type'.", "param": "item.type",
                     "event_id": "evt_item"}


async def test_missing_message_role(realtime: Running) -> None:
    async with session(realtime) as raw:
        error = await raw.one_error({"type": "conversation.item.create", "event_id": "evt_role",
                                     "item": {"type": "message", "content": [{"type": "input_text", "text": "x"}]}})
    assert error == {"type": "invalid_request_error", "code": "missing_required_parameter",
                     "message": "Missing required parameter: 'item.role'.", "param": "item.role",
                     "event_id": "evt_role"}


# -- connecting ----------------------------------------------------------------------------------------

async def closed_after_error(url: str, **kwargs: Any) -> tuple[dict[str, Any], int | None]:
    async with connect(url, **kwargs) as ws:
        event = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert ws.close_code is not None
        return event, ws.close_code


async def test_bad_api_key_closes_3000(realtime: Running) -> None:
    event, code = await closed_after_error(ws_url(realtime), additional_headers={"Authorization": "Bearer sk-wrong"})
    check_typed(event, beta=False)
    assert event["type"] == "error" and event["error"]["code"] == "invalid_api_key"
    assert event["error"]["type"] == "invalid_request_error"
    assert code == 3000


async def test_no_api_key_closes_3000(realtime: Running) -> None:
    event, code = await closed_after_error(ws_url(realtime))
    assert event["error"]["code"] == "invalid_api_key" and code == 3000


async def test_missing_model_closes_4000(realtime: Running) -> None:
    event, code = await closed_after_error(ws_url(realtime, "foo=bar"), additional_headers=AUTH)
    check_typed(event, beta=False)
    assert event["type"] == "error" and event["error"]["code"] == "missing_model"
    assert code == 4000


async def test_key_in_browser_subprotocol(realtime: Running) -> None:
    async with connect(ws_url(realtime), subprotocols=[Subprotocol("realtime"),
                                                       Subprotocol(f"openai-insecure-api-key.{API_KEY}")]) as ws:
        assert ws.subprotocol == "realtime"
        raw = Raw(ws)
        assert (await raw.recv())["type"] == "session.created"
        assert (await raw.probe())[-1]["type"] == "session.updated"


async def test_key_in_access_token_query(realtime: Running) -> None:
    async with connect(ws_url(realtime, f"model=gpt-realtime&access_token={API_KEY}")) as ws:
        assert (await Raw(ws).recv())["type"] == "session.created"


async def test_healthz(realtime: Running) -> None:
    def get() -> tuple[int, str]:
        url = f"http://127.0.0.1:{realtime.server.port}/healthz"
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.status, response.read().decode()

    status, body = await asyncio.to_thread(get)
    assert status == 200 and json.loads(body)["status"] == "ok"


async def test_15_mib_append_is_accepted(realtime: Running) -> None:
    audio = b"\x00\x00" * (15 * 1024 * 1024 * 3 // 8)  # whole samples; base64 of it is exactly 15 MiB
    encoded = base64.b64encode(audio).decode("ascii")
    assert len(encoded) == 15 * 1024 * 1024
    async with session(realtime) as raw:
        await raw.send({"type": "input_audio_buffer.append", "audio": encoded})
        await raw.send({"type": "input_audio_buffer.commit", "event_id": "evt_big"})
        events = await raw.until("input_audio_buffer.committed")
    assert types(events) == ["input_audio_buffer.committed"]


# -- rate limits -----------------------------------------------------------------------------------------

async def test_request_rate_limit() -> None:
    running = await start_server(limits=RateLimitSettings(requests_per_minute=1, tokens_per_minute=100000))
    try:
        async with session(running) as raw:
            await raw.item(user_text("hello"))
            await raw.send({"type": "response.create"})
            events = await raw.until("rate_limits.updated")
            assert types(events)[-2:] == ["response.done", "rate_limits.updated"]
            limits = {r["name"]: r for r in events[-1]["rate_limits"]}
            assert limits["requests"]["limit"] == 1 and limits["requests"]["remaining"] == 0
            assert 0 < limits["requests"]["reset_seconds"] <= 60
            assert limits["tokens"]["limit"] == 100000 and limits["tokens"]["remaining"] < 100000
            error = await raw.one_error({"type": "response.create", "event_id": "evt_limited"},
                                        kind="rate_limit_error")
    finally:
        await running.server.stop()
    assert error["code"] == "rate_limit_exceeded" and error["event_id"] == "evt_limited"
    assert "requests" in error["message"]


async def test_output_audio_buffer_clear_is_ignored_on_a_websocket(realtime: Running) -> None:
    """WebRTC's event: on a WebSocket the client plays the audio itself, and OpenAI ignores it there."""
    async with connect(ws_url(realtime), additional_headers=AUTH) as ws:
        raw = Raw(ws)
        await raw.until("session.created")
        await raw.send({"type": "output_audio_buffer.clear", "event_id": "evt_clear"})
        assert [e["type"] for e in await raw.probe()] == ["session.updated"]


async def test_sessions_carry_the_fields_a_client_set_not_every_null(realtime: Running) -> None:
    """As OpenAI renders them: pipecat's transcription model takes only model, language and prompt."""
    async with connect(ws_url(realtime), additional_headers=AUTH) as ws:
        raw = Raw(ws)
        await raw.until("session.created")
        await raw.send({"type": "session.update", "session": {
            "type": "realtime", "tools": [{"type": "function", "name": "f"}],
            "audio": {"input": {"transcription": {"model": "whisper-1"}, "noise_reduction": {"type": "far_field"}}}}})
        session = (await raw.until("session.updated"))[-1]["session"]
    assert session["audio"]["input"]["transcription"] == {"model": "whisper-1"}
    assert session["audio"]["input"]["noise_reduction"] == {"type": "far_field"}
    assert session["tools"] == [{"type": "function", "name": "f"}]
    assert "reasoning" not in session and "parallel_tool_calls" not in session
    assert session["tracing"] is None and session["include"] is None  # top-level nulls as OpenAI shows them
