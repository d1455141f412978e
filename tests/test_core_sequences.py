"""Scripted event sequences against the sans-I/O session core: no socket, no engines, a fake clock.

Each step does what the driver (``server.connection``) does: feed one client event or engine result,
then take the server events and effects the core produced. Every event is checked against the GA SDK.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from ovos_realtime_plugin.core.assistant import (
    AssistantOutput,
    FunctionCallArguments,
    FunctionCallStart,
    TextDelta,
)
from ovos_realtime_plugin.core.client_events import CLIENT_EVENTS
from ovos_realtime_plugin.core.effects import CancelResponse, Effect, RunAssistant, Synthesize
from ovos_realtime_plugin.core.formats import PCM24K
from ovos_realtime_plugin.core.ratelimit import RateLimitSettings
from ovos_realtime_plugin.protocol.parse import BadEvent, parse_event
from ovos_realtime_plugin.protocol.session import RealtimeSession
from tests.sdk_helpers import check_typed, types, user_text

TEXT_DONE = ["response.output_text.done", "response.content_part.done", "conversation.item.done",
             "response.output_item.done", "response.done", "rate_limits.updated"]
AUDIO_DONE = ["response.output_audio.done", "response.output_audio_transcript.done", "response.content_part.done",
              "conversation.item.done", "response.output_item.done", "response.done", "rate_limits.updated"]
OPENED = ["response.output_item.added", "conversation.item.added", "response.content_part.added"]


def pcm_ms(ms: int, value: int = 1) -> bytes:
    """``ms`` milliseconds of PCM16 at 24 kHz."""
    return value.to_bytes(2, "little", signed=True) * (24 * ms)


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class Core:
    """A session driven step by step, as the driver would."""

    def __init__(self, modality: str = "text", **kwargs: Any) -> None:
        self.clock = Clock()
        self.session = RealtimeSession(clock=self.clock, **kwargs)
        self.session.start()
        created = self.take()
        assert types(created) == ["session.created"]
        assert created[0]["session"]["expires_at"] == int(self.clock.now) + 3600
        assert self.effects() == []
        updated = self.send({"type": "session.update", "session": {
            "type": "realtime", "output_modalities": [modality], "audio": {"input": {"turn_detection": None}}}})
        assert types(updated) == ["session.updated"]

    def take(self) -> list[dict[str, Any]]:
        events = self.session.pop_events()
        for event in events:
            check_typed(event, beta=False)
        return events

    def effects(self) -> list[Effect]:
        return self.session.pop_effects()

    def send(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        self.session.handle(parse_event(json.dumps(event), "ga"))
        return self.take()

    def error(self, event: dict[str, Any]) -> dict[str, Any]:
        events = self.send(event)
        assert types(events) == ["error"], types(events)
        return dict(events[0]["error"])

    def item(self, item: dict[str, Any], previous_item_id: str | None = None) -> dict[str, Any]:
        event: dict[str, Any] = {"type": "conversation.item.create", "item": item}
        if previous_item_id is not None:
            event["previous_item_id"] = previous_item_id
        events = self.send(event)
        assert types(events) == ["conversation.item.added", "conversation.item.done"]
        assert events[0]["previous_item_id"] == events[1]["previous_item_id"]
        return events[0]

    def respond(self, response: dict[str, Any] | None = None) -> RunAssistant:
        """``response.create``: ``response.created`` and a request to the assistant."""
        event: dict[str, Any] = {"type": "response.create"}
        if response is not None:
            event["response"] = response
        events = self.send(event)
        assert types(events) == ["response.created"]
        assert events[0]["response"]["status"] == "in_progress" and events[0]["response"]["output"] == []
        effects = self.effects()
        assert len(effects) == 1 and isinstance(effects[0], RunAssistant)
        assert effects[0].request.response_id == events[0]["response"]["id"]
        return effects[0]

    def output(self, rid: str, *outputs: AssistantOutput) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for output in outputs:
            self.session.on_assistant_output(rid, output)
            events += self.take()
        return events

    def end(self, rid: str) -> list[dict[str, Any]]:
        self.session.on_assistant_end(rid)
        return self.take()

    def item_ids(self) -> list[str]:
        return [item.id for item in self.session.conversation.items]


def synthesized(effects: list[Effect]) -> list[Synthesize]:
    assert all(isinstance(e, Synthesize) for e in effects), effects
    return [e for e in effects if isinstance(e, Synthesize)]


def speak(core: Core, job: Synthesize, audio: bytes) -> list[dict[str, Any]]:
    """What the speech driver does for one sentence: its audio, then its end."""
    core.session.on_speech_audio(job.response_id, job.item_id, audio)
    events = core.take()
    core.session.on_speech_end(job.response_id, job.item_id, job.seq)
    return events + core.take()


def deltas(events: list[dict[str, Any]], kind: str) -> str:
    return "".join(e["delta"] for e in events if e["type"] == kind)


# -- flows --------------------------------------------------------------------------------------------

def test_text_flow() -> None:
    core = Core()
    user = core.item(user_text("hello"))["item"]
    request = core.respond().request
    rid = request.response_id
    assert [i.id for i in request.items] == [user["id"]] and request.output_modalities == ("text",)
    first = core.output(rid, TextDelta("Hello "))
    assert types(first) == OPENED + ["response.output_text.delta"]
    assert first[0]["item"]["status"] == "in_progress" and first[0]["item"]["content"] == []
    assert first[1]["previous_item_id"] == user["id"]
    assert first[2]["part"] == {"type": "text", "text": ""}
    assert types(core.output(rid, TextDelta("world."))) == ["response.output_text.delta"]
    done = core.end(rid)
    assert types(done) == TEXT_DONE
    assert done[0]["text"] == "Hello world." and done[1]["part"] == {"type": "text", "text": "Hello world."}
    response = done[4]["response"]
    assert response["status"] == "completed" and response["status_details"] is None
    assert response["output"][0]["content"] == [{"type": "output_text", "text": "Hello world."}]
    assert response["usage"]["output_tokens"] > 0
    assert core.effects() == []
    assert core.item_ids() == [user["id"], response["output"][0]["id"]]


def test_audio_flow_waits_for_every_sentence() -> None:
    core = Core("audio")
    core.item(user_text("hello"))
    rid = core.respond().request.response_id
    first = core.output(rid, TextDelta("Hello there, friend. "))
    assert types(first) == OPENED + ["response.output_audio_transcript.delta"]
    assert first[2]["part"] == {"type": "audio", "transcript": ""}
    [one] = synthesized(core.effects())
    assert (one.seq, one.text, one.voice, one.format) == (1, "Hello there, friend.", "alloy", PCM24K)
    assert types(core.output(rid, TextDelta("How are you doing"))) == ["response.output_audio_transcript.delta"]
    assert core.effects() == []
    assert core.end(rid) == []  # the unfinished rest is spoken at the end; the item waits for its audio
    [two] = synthesized(core.effects())
    assert (two.seq, two.text, two.item_id) == (2, "How are you doing", one.item_id)
    audio1, audio2 = pcm_ms(300, 1), pcm_ms(200, 2)
    first_audio = speak(core, one, audio1)
    assert types(first_audio) == ["response.output_audio.delta"]  # one sentence is still pending
    last = speak(core, two, audio2)
    assert types(last) == ["response.output_audio.delta"] + AUDIO_DONE
    played = base64.b64decode(deltas(first_audio + last, "response.output_audio.delta"))
    assert played == audio1 + audio2
    transcript = "Hello there, friend. How are you doing"
    assert last[2]["transcript"] == transcript
    assert last[3]["part"] == {"type": "audio", "transcript": transcript}
    assert last[4]["item"]["content"] == [{"type": "output_audio", "transcript": transcript}]
    response = last[6]["response"]
    assert response["status"] == "completed"
    assert response["usage"]["output_token_details"]["audio_tokens"] > 0
    assert core.effects() == []


# -- cancellation ---------------------------------------------------------------------------------------

def _cancel_phase(core: Core, phase: str, rid: str) -> tuple[list[str], list[Synthesize]]:
    """Bring the response into ``phase``; returns the events expected before ``response.done``."""
    jobs: list[Synthesize] = []
    if phase == "before_output":
        return [], jobs
    if phase == "mid_text":
        assert types(core.output(rid, TextDelta("Hello "))) == OPENED + ["response.output_text.delta"]
        return ["response.output_text.done", "response.content_part.done", "conversation.item.done",
                "response.output_item.done"], jobs
    if phase == "mid_function_call":
        events = core.output(rid, FunctionCallStart("get_weather"), FunctionCallArguments('{"ci'))
        assert types(events) == ["response.output_item.added", "conversation.item.added",
                                 "response.function_call_arguments.delta"]
        return ["conversation.item.done", "response.output_item.done"], jobs
    assert phase == "audio_waiting_on_synthesis"
    core.output(rid, TextDelta("Hello there, friend. "))
    assert core.end(rid) == []
    jobs = synthesized(core.effects())
    assert [j.text for j in jobs] == ["Hello there, friend."]
    return AUDIO_DONE[:-2], jobs


@pytest.mark.parametrize("phase", ["before_output", "mid_text", "mid_function_call", "audio_waiting_on_synthesis"])
def test_cancel_in_every_phase(phase: str) -> None:
    core = Core("audio" if phase.startswith("audio") else "text")
    core.item(user_text("hello"))
    rid = core.respond({"tools": [{"type": "function", "name": "get_weather"}]}).request.response_id
    closing, jobs = _cancel_phase(core, phase, rid)
    events = core.send({"type": "response.cancel", "event_id": "evt_cancel"})
    assert types(events) == closing + ["response.done", "rate_limits.updated"]
    assert core.effects() == [CancelResponse(rid)]
    response = events[-2]["response"]
    assert response["status"] == "cancelled"
    assert response["status_details"]["type"] == "cancelled"
    assert response["status_details"]["reason"] == "client_cancelled"
    assert all(item["status"] == "incomplete" for item in response["output"])
    assert len(response["output"]) == (0 if phase == "before_output" else 1)
    # results arriving after the cancel change nothing
    core.output(rid, TextDelta("late. "), FunctionCallStart("late"), FunctionCallArguments("{}"))
    core.session.on_assistant_end(rid)
    core.session.on_assistant_error(rid, "late failure")
    for job in jobs:
        speak(core, job, pcm_ms(100))
    assert core.take() == [] and core.effects() == []
    assert core.error({"type": "response.cancel"})["code"] == "response_cancel_not_active"


def test_cancel_by_unknown_response_id() -> None:
    core = Core()
    core.item(user_text("hello"))
    core.respond()
    error = core.error({"type": "response.cancel", "response_id": "resp_nope", "event_id": "evt_nope"})
    assert error["code"] == "response_cancel_not_active" and error["event_id"] == "evt_nope"
    assert core.effects() == []


def test_assistant_error_fails_the_response() -> None:
    core = Core()
    core.item(user_text("hello"))
    rid = core.respond().request.response_id
    core.output(rid, TextDelta("Hello "))
    core.session.on_assistant_error(rid, "engine exploded")
    events = core.take()
    assert types(events) == TEXT_DONE[:4] + ["response.done", "rate_limits.updated"]  # no top-level error: as OpenAI
    response = events[-2]["response"]
    assert response["status"] == "failed"
    assert response["status_details"]["type"] == "failed"
    assert response["status_details"]["error"] == {"type": "server_error", "code": "server_error",
                                                   "message": "engine exploded"}
    assert response["output"][0]["status"] == "incomplete"
    assert core.effects() == [CancelResponse(rid)]
    core.session.on_assistant_end(rid)
    assert core.take() == []
    # the conversation goes on
    rid2 = core.respond().request.response_id
    assert rid2 != rid


# -- conversation items -----------------------------------------------------------------------------------

def test_item_create_at_root_and_mid_insert() -> None:
    core = Core()
    a = core.item(user_text("a"))
    b = core.item(user_text("b"))
    assert a["previous_item_id"] is None and b["previous_item_id"] == a["item"]["id"]
    c = core.item(user_text("c"), previous_item_id="root")
    assert c["previous_item_id"] is None
    d = core.item({**user_text("d"), "id": "item_given_d"}, previous_item_id=a["item"]["id"])
    assert d["previous_item_id"] == a["item"]["id"] and d["item"]["id"] == "item_given_d"
    order = [c["item"]["id"], a["item"]["id"], "item_given_d", b["item"]["id"]]
    assert core.item_ids() == order
    request = core.respond().request
    assert [i.text() for i in request.items] == ["c", "a", "d", "b"]
    retrieved = core.send({"type": "conversation.item.retrieve", "item_id": "item_given_d"})
    assert types(retrieved) == ["conversation.item.retrieved"]
    assert retrieved[0]["item"]["content"] == [{"type": "input_text", "text": "d"}]
    duplicate = core.error({"type": "conversation.item.create", "item": {**user_text("again"), "id": "item_given_d"}})
    assert duplicate["code"] == "invalid_value" and duplicate["param"] == "item.id"
    unknown = core.error({"type": "conversation.item.create", "previous_item_id": "item_nope", "item": user_text("x")})
    assert unknown["param"] == "previous_item_id"
    assert core.item_ids() == order


def test_delete() -> None:
    core = Core()
    a = core.item(user_text("a"))["item"]["id"]
    b = core.item(user_text("b"))["item"]["id"]
    events = core.send({"type": "conversation.item.delete", "item_id": a, "event_id": "evt_del"})
    assert types(events) == ["conversation.item.deleted"] and events[0]["item_id"] == a
    assert core.item_ids() == [b]
    assert core.error({"type": "conversation.item.retrieve", "item_id": a})["param"] == "item_id"
    assert core.error({"type": "conversation.item.delete", "item_id": a})["param"] == "item_id"
    assert [i.id for i in core.respond().request.items] == [b]


def test_truncate_audio_item_shortens_transcript_and_audio() -> None:
    core = Core("audio")
    core.item(user_text("hello"))
    rid = core.respond().request.response_id
    core.output(rid, TextDelta("Hello there, friend. "), TextDelta("How are you doing today? "))
    assert core.end(rid) == []
    jobs = synthesized(core.effects())
    assert [j.text for j in jobs] == ["Hello there, friend.", "How are you doing today?"]
    speak(core, jobs[0], pcm_ms(500, 1))
    events = speak(core, jobs[1], pcm_ms(500, 2))
    assert types(events)[-2:] == ["response.done", "rate_limits.updated"]
    item_id = jobs[0].item_id
    truncated = core.send({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0,
                           "audio_end_ms": 500})
    assert truncated[0] == {**truncated[0], "type": "conversation.item.truncated", "item_id": item_id,
                            "content_index": 0, "audio_end_ms": 500}
    [retrieved] = core.send({"type": "conversation.item.retrieve", "item_id": item_id})
    [part] = retrieved["item"]["content"]
    assert part["type"] == "output_audio"
    assert part["transcript"] == "Hello there, friend."
    assert base64.b64decode(part["audio"]) == pcm_ms(500, 1)
    too_long = core.error({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0,
                           "audio_end_ms": 501})
    assert too_long["param"] == "audio_end_ms"
    assert too_long["message"] == "Audio content of 500ms is already shorter than 501ms"
    # the next response's context counts what was heard: "hello" (2 tokens), "Hello there, friend." (5), 500 ms
    # of audio (5) — not the 12 text and 10 audio tokens the item held before the cut
    later = core.respond({"output_modalities": ["text"]}).request.response_id
    core.output(later, TextDelta("Fine."))
    done = next(e for e in core.end(later) if e["type"] == "response.done")
    details = done["response"]["usage"]["input_token_details"]
    assert (details["text_tokens"], details["audio_tokens"]) == (7, 5)


# -- session.update ---------------------------------------------------------------------------------------

def test_session_update_merges_deeply() -> None:
    core = Core()

    def update(session: dict[str, Any]) -> dict[str, Any]:
        events = core.send({"type": "session.update", "session": {"type": "realtime", **session}})
        assert types(events) == ["session.updated"]
        return dict(events[0]["session"])

    vad = {"type": "server_vad", "threshold": 0.7}
    td = update({"audio": {"input": {"turn_detection": vad}}})["audio"]["input"]["turn_detection"]
    assert (td["threshold"], td["silence_duration_ms"], td["prefix_padding_ms"]) == (0.7, 200, 300)
    td = update({"audio": {"input": {"turn_detection": {"type": "server_vad", "silence_duration_ms": 900}}}})[
        "audio"]["input"]["turn_detection"]
    assert (td["threshold"], td["silence_duration_ms"], td["prefix_padding_ms"]) == (0.7, 900, 300)
    session = update({"instructions": "be brief"})
    assert session["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 900
    assert session["output_modalities"] == ["text"]
    assert update({"audio": {"input": {"turn_detection": None}}})["audio"]["input"]["turn_detection"] is None
    assert core.session.detector is None
    assert update({"instructions": ""})["instructions"] == ""


def test_voice_is_fixed_once_audio_was_produced() -> None:
    core = Core("audio")
    voice = {"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"voice": "ash"}}}}
    assert core.send(voice)[0]["session"]["audio"]["output"]["voice"] == "ash"  # no audio yet: allowed
    core.item(user_text("hello"))
    rid = core.respond().request.response_id
    core.output(rid, TextDelta("Hi. "))
    core.end(rid)
    core.effects()
    error = core.error({**voice, "event_id": "evt_voice", "session": {
        "type": "realtime", "instructions": "x", "audio": {"output": {"voice": "verse"}}}})
    assert error["code"] == "cannot_update_voice" and error["param"] == "session.audio.output.voice"
    assert error["event_id"] == "evt_voice"
    session = core.send(voice)[0]["session"]  # the same voice again is fine, and "x" was never applied
    assert session["audio"]["output"]["voice"] == "ash" and session["instructions"] == ""


# -- response parameters -----------------------------------------------------------------------------------

def test_max_output_tokens_makes_the_response_incomplete() -> None:
    core = Core()
    core.item(user_text("hello"))
    request = core.respond({"max_output_tokens": 5}).request
    assert request.max_output_tokens == 5
    rid = request.response_id
    events = core.output(rid, TextDelta("This reply is far longer than five tokens allow, by a lot."))
    assert types(events) == OPENED + ["response.output_text.delta"] + TEXT_DONE
    response = events[-2]["response"]
    assert response["status"] == "incomplete"
    assert response["status_details"]["type"] == "incomplete"
    assert response["status_details"]["reason"] == "max_output_tokens"
    assert response["max_output_tokens"] == 5
    assert response["usage"]["output_tokens"] <= 5
    assert len(deltas(events, "response.output_text.delta")) < len("This reply is far longer than five tokens")
    assert core.output(rid, TextDelta("more")) == [] and core.end(rid) == []


def test_out_of_band_response_with_item_reference() -> None:
    core = Core()
    kept = core.item(user_text("remember this"))["item"]["id"]
    request = core.respond({"conversation": "none", "metadata": {"purpose": "summary"},
                            "input": [{"type": "item_reference", "id": kept}, user_text("summarize")]}).request
    assert [i.text() for i in request.items] == ["remember this", "summarize"]
    assert request.items[0].id == kept and request.metadata == {"purpose": "summary"}
    rid = request.response_id
    events = core.output(rid, TextDelta("Summary."))
    events += core.end(rid)
    assert not any(t.startswith("conversation.") for t in types(events))
    response = events[-2]["response"]
    assert response["conversation_id"] is None and response["metadata"] == {"purpose": "summary"}
    assert core.item_ids() == [kept]
    missing = core.error({"type": "response.create", "response": {
        "conversation": "none", "input": [{"type": "item_reference", "id": "item_nope"}]}})
    assert missing["param"] == "response.input[0].id"
    # an out-of-band response does not block one in the conversation
    core.respond({"conversation": "none", "input": []})
    core.respond()


def test_request_limit_resets_with_the_clock() -> None:
    core = Core(limits=RateLimitSettings(requests_per_minute=1, tokens_per_minute=100_000))
    rid = core.respond().request.response_id
    core.output(rid, TextDelta("ok"))
    events = core.end(rid)
    limits = {r["name"]: r for r in events[-1]["rate_limits"]}
    assert limits["requests"]["remaining"] == 0 and limits["requests"]["reset_seconds"] == 60.0
    core.clock.now += 20
    error = core.error({"type": "response.create", "event_id": "evt_limited"})
    assert error["code"] == "rate_limit_exceeded" and error["event_id"] == "evt_limited"
    assert "40.0s" in error["message"]
    core.clock.now += 40
    core.respond()


# -- every client event type parses ------------------------------------------------------------------------

MINIMAL: dict[str, dict[str, Any]] = {
    "session.update": {"session": {"type": "realtime"}},
    "input_audio_buffer.append": {"audio": base64.b64encode(pcm_ms(10)).decode()},
    "input_audio_buffer.commit": {},
    "input_audio_buffer.clear": {},
    "conversation.item.create": {"item": user_text("hi")},
    "conversation.item.retrieve": {"item_id": "item_1"},
    "conversation.item.delete": {"item_id": "item_1"},
    "conversation.item.truncate": {"item_id": "item_1", "content_index": 0, "audio_end_ms": 0},
    "response.create": {},
    "response.cancel": {},
    "session.close": {},
    "output_audio_buffer.clear": {},
}


def test_minimal_forms_cover_every_client_event_type() -> None:
    assert set(MINIMAL) == set(CLIENT_EVENTS)


@pytest.mark.parametrize("kind", sorted(CLIENT_EVENTS))
def test_every_client_event_type_parses(kind: str) -> None:
    assert kind in MINIMAL, f"add a minimal {kind} to MINIMAL"
    event = parse_event(json.dumps({"type": kind, "event_id": "evt_1", **MINIMAL[kind]}), "ga")
    assert isinstance(event, CLIENT_EVENTS[kind])
    assert event.type == kind and event.event_id == "evt_1"
    with pytest.raises(BadEvent) as bad:
        parse_event(json.dumps({"type": kind, "event_id": "evt_2", **MINIMAL[kind], "bogus": 1}), "ga")
    assert bad.value.error.code == "unknown_parameter" and bad.value.error.param == "bogus"
    assert bad.value.client_event_id == "evt_2"
