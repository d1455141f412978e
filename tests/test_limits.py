"""Limits (issue 11): input buffer, conversation size with truncation, sessions per server and per key,
frames per second; and per-key entries — each over the real server with a raw WebSocket client."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from ovos_realtime_plugin.core.limits import SessionLimits
from ovos_realtime_plugin.server.api_keys import ApiKey, find_key, keys_from_config
from ovos_realtime_plugin.server.settings import from_config
from tests.fixtures_server import Running, start_server
from tests.sdk_helpers import user_text
from tests.test_errors import AUTH, PCM_100MS, Raw, ws_url

MANUAL = {"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}}}


def append(ms: int) -> dict[str, Any]:
    return {"type": "input_audio_buffer.append", "event_id": "evt_big",
            "audio": base64.b64encode(PCM_100MS * (ms // 100)).decode()}


async def test_an_append_past_the_buffer_limit_is_refused_and_not_kept() -> None:
    served = await start_server(session_limits=SessionLimits(max_input_audio_ms=1000))
    try:
        async with connect(ws_url(served), additional_headers=AUTH) as ws:
            raw = Raw(ws)
            await raw.until("session.created")
            await raw.send(MANUAL)
            await raw.until("session.updated")
            await raw.send(append(600))
            error = await raw.one_error(append(600))
            assert (error["code"], error["param"], error["event_id"]) == ("input_audio_buffer_too_large", "audio",
                                                                          "evt_big")
            await raw.send({"type": "input_audio_buffer.commit"})
            item_id = (await raw.until("input_audio_buffer.committed"))[-1]["item_id"]
            await raw.send({"type": "conversation.item.retrieve", "item_id": item_id})
            item = (await raw.until("conversation.item.retrieved"))[-1]["item"]
            assert len(base64.b64decode(item["content"][0]["audio"])) == len(PCM_100MS) * 6
    finally:
        await served.server.stop()


@pytest.mark.parametrize(("truncation", "kept"), [("auto", 4), ({"type": "retention_ratio", "retention_ratio": 0.5},
                                                                 2)])
async def test_the_oldest_items_go_as_truncation_says(truncation: object, kept: int) -> None:
    served = await start_server(session_limits=SessionLimits(max_items=4))
    try:
        async with connect(ws_url(served), additional_headers=AUTH) as ws:
            raw = Raw(ws)
            await raw.until("session.created")
            await raw.send({"type": "session.update", "session": {"type": "realtime", "truncation": truncation}})
            await raw.until("session.updated")
            ids = [await raw.item(user_text(f"line {n}")) for n in range(4)]
            await raw.send({"type": "conversation.item.create", "item": user_text("one too many")})
            events = await raw.until("conversation.item.done") + await raw.probe()
            deleted = [e["item_id"] for e in events if e["type"] == "conversation.item.deleted"]
            assert deleted == ids[:5 - kept]
            for gone in deleted:
                error = await raw.one_error({"type": "conversation.item.retrieve", "item_id": gone})
                assert error["code"] == "item_not_found"
    finally:
        await served.server.stop()


async def refused(served: Running, headers: dict[str, str]) -> dict[str, Any]:
    async with connect(ws_url(served), additional_headers=headers) as ws:
        raw = Raw(ws)
        error = (await raw.until("error"))[-1]["error"]
        with pytest.raises(ConnectionClosed):
            await raw.recv()
        assert ws.close_code == 1013
        return dict(error)


async def test_sessions_past_the_server_and_key_limits_are_refused() -> None:
    kitchen = ApiKey("sk-kitchen", "kitchen tablet", max_sessions=1)
    served = await start_server(max_sessions=3, key_entries=(kitchen,))
    kitchen_auth = {"Authorization": "Bearer sk-kitchen"}
    try:
        async with connect(ws_url(served), additional_headers=kitchen_auth) as first:
            await Raw(first).until("session.created")
            error = await refused(served, kitchen_auth)
            assert (error["code"], error["type"]) == ("session_limit_reached", "invalid_request_error")
            async with connect(ws_url(served), additional_headers=AUTH) as second, \
                    connect(ws_url(served), additional_headers=AUTH) as third:
                await Raw(second).until("session.created")
                await Raw(third).until("session.created")
                assert (await refused(served, AUTH))["code"] == "session_limit_reached"
        async with connect(ws_url(served), additional_headers=kitchen_auth) as again:  # slots are given back
            await Raw(again).until("session.created")
    finally:
        await served.server.stop()


async def test_frames_past_the_rate_are_ignored_with_an_error() -> None:
    served = await start_server(max_frames_per_s=1.0)
    try:
        async with connect(ws_url(served), additional_headers=AUTH) as ws:
            raw = Raw(ws)
            await raw.until("session.created")
            for n in range(10):
                await raw.send({"type": "input_audio_buffer.clear", "event_id": f"evt_{n}"})
            events = [await raw.recv() for _ in range(10)]
            errors = [e["error"] for e in events if e["type"] == "error"]
            assert errors and all(e["code"] == "rate_limit_exceeded" for e in errors)
            assert len(errors) + sum(e["type"] == "input_audio_buffer.cleared" for e in events) == 10
            dropped = [e["event_id"] for e in errors]  # which of the client's events were dropped
            assert len(set(dropped)) == len(dropped) and all(d and d.startswith("evt_") for d in dropped)
    finally:
        await served.server.stop()


def test_keys_from_config_and_lookup() -> None:
    settings = from_config({"api_keys": ["sk-plain"], "keys": [
        {"key": "sk-tablet", "name": "kitchen tablet", "allow_skills": ["skill-date"], "deny_intents": ["x:y"],
         "allow_llm": False, "max_sessions": 4}], "limits": {"max_sessions": 7, "input_audio_buffer_s": 60}})
    keys = settings.keys()
    tablet = find_key(keys, "sk-tablet")
    assert tablet is not None and tablet.name == "kitchen tablet" and tablet.max_sessions == 4
    assert tablet.allow_skills == frozenset({"skill-date"}) and not tablet.allow_llm
    assert "sk-tablet" not in repr(tablet)
    assert find_key(keys, "sk-plain") is not None
    assert find_key(keys, "sk-tablet ") is None and find_key(keys, "") is None and find_key(keys, None) is None
    assert settings.max_sessions == 7 and settings.session_limits.max_input_audio_ms == 60_000
    assert find_key(keys_from_config((), ()), "anything") is None


@pytest.mark.parametrize(("limits", "named"), [
    ({"max_sessions": -1}, "max_sessions"),  # would refuse every session
    ({"max_sessions": 0}, "max_sessions"),
    ({"max_sessions": "abc"}, "max_sessions"),
    ({"max_voice_sessions": 2.5}, "max_voice_sessions"),
    ({"max_voice_sessions": True}, "max_voice_sessions"),
    ({"frames_per_second": 0}, "frames_per_second"),
    ({"input_audio_buffer_s": "nan"}, "input_audio_buffer_s"),
    ({"conversation_items": None}, "conversation_items"),
    ({"outbox_bytes": -5}, "outbox_bytes"),
])
def test_a_limit_out_of_its_range_is_refused_by_name(limits: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=f'"{named}"'):
        from_config({"limits": limits})


def test_limits_written_as_numbers_or_strings_of_numbers_are_taken() -> None:
    settings = from_config({"limits": {"max_sessions": "16", "max_voice_sessions": 0, "frames_per_second": 100.5,
                                       "input_audio_buffer_s": 2.5, "conversation_items": 10.0}})
    assert (settings.max_sessions, settings.max_voice_sessions, settings.max_frames_per_s) == (16, 0, 100.5)
    assert (settings.session_limits.max_input_audio_ms, settings.session_limits.max_items) == (2500, 10)
