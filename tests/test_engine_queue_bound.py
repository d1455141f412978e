"""A call may wait only so long for its engine (``"engines": {"max_queue_wait_s"}``, engines/worker.py): past its
bound it fails unrun, so a burst of turns beyond what the engine answers in time fails the turns it cannot reach
instead of queueing every later turn behind them. Deterministic: the engine is held busy by a call that waits on an
event, the clock is the test's own, and the outcome of each call is recorded; no timing is asserted."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from openai import AsyncOpenAI

from ovos_realtime_plugin.engines.choice import EngineTimeouts, speech_choices
from ovos_realtime_plugin.engines.stt import PluginTranscriber
from ovos_realtime_plugin.engines.worker import EngineBusy, EngineThread, Urgency
from ovos_realtime_plugin.server.speech_engines import SpeechEngines
from tests.fixtures_server import API_KEY, start_server
from tests.fixtures_speech import silence
from tests.sdk_helpers import collect
from tests.test_engine_schedule import Held

NEVER_S = 1000.0  # a bound the real timer cannot reach while a test runs: the test's clock passes it instead


@pytest.fixture
def held() -> Iterator[Held]:
    engine = Held()
    engine.thread.max_wait_s = NEVER_S
    yield engine
    engine.release.set()
    engine.thread.close()


async def outcomes(calls: list[asyncio.Task[None]]) -> list[str]:
    done = await asyncio.gather(*calls, return_exceptions=True)
    return ["busy" if isinstance(d, EngineBusy) else "ran" if d is None else repr(d) for d in done]


async def test_a_call_whose_bound_passed_while_queued_fails_and_is_not_run(held: Held) -> None:
    busy = await held.hold()
    stale = held.call("asked long ago", Urgency.NOW)
    await held.queued(1)
    held.now += NEVER_S + 0.5  # the engine was held past the queued call's bound
    fresh = held.call("asked just now", Urgency.NOW)
    await held.queued(2)
    held.release.set()
    await busy
    assert await outcomes([stale, fresh]) == ["busy", "ran"]
    assert held.ran == ["asked just now"]


async def test_the_bound_counts_from_the_deadline_so_a_later_sentence_keeps_its_slack(held: Held) -> None:
    busy = await held.hold()
    later = held.call("sentence 2", Urgency.LATER)
    now = held.call("committed transcript", Urgency.NOW)
    await held.queued(2)
    held.now += NEVER_S + Urgency.NOW.value + 0.5  # past NOW's bound, within LATER's (a second more)
    held.release.set()
    await busy
    assert await outcomes([later, now]) == ["ran", "busy"]
    assert held.ran == ["sentence 2"]


async def test_a_now_call_is_not_held_behind_later_calls(held: Held) -> None:
    busy = await held.hold()
    later = [held.call(f"sentence {n}", Urgency.LATER) for n in (2, 3, 4)]
    await held.queued(3)
    held.now += 0.5
    first = held.call("another response's first sentence", Urgency.NOW)
    await held.queued(4)
    held.release.set()
    await busy
    assert await outcomes([first, *later]) == ["ran"] * 4
    assert held.ran[0] == "another response's first sentence"


async def test_a_call_fails_at_its_bound_while_the_engine_is_still_busy() -> None:
    """The bound does not wait for the engine to come free: the call ahead may run on for its own timeout."""
    engine = Held()
    engine.thread.max_wait_s = 0.0
    try:
        busy = await engine.hold()
        waiting = engine.call("queued", Urgency.NOW)
        with pytest.raises(EngineBusy, match="waited more than 0 s"):
            await asyncio.wait_for(waiting, 30)
        assert not busy.done() and engine.ran == []  # failed while the held call still runs
        cancelled_after = engine.call("expired, then cancelled", Urgency.NOW)
        await asyncio.sleep(0)
        cancelled_after.cancel()  # an expired call cancelled before it saw its failure passes no turn on
        await asyncio.gather(cancelled_after, return_exceptions=True)
        engine.release.set()
        await busy
        await engine.thread.run(engine.ran.append, "afterwards")  # the engine is free and in order again
        assert engine.ran == ["afterwards"] and engine.thread._waiting == []
    finally:
        engine.release.set()
        engine.thread.close()


def test_the_bound_comes_from_the_realtime_section() -> None:
    def queue(section: dict[str, Any]) -> float | None:
        conf = {"realtime": {"engines": section}}
        return speech_choices(conf, {}, stt="none", tts="none", vad="none").timeouts.queue_s

    assert queue({}) == EngineTimeouts().queue_s == 10.0
    assert queue({"max_queue_wait_s": 4}) == 4.0
    assert queue({"max_queue_wait_s": 0}) is None


class HoldsFirst:
    """An OPM-style STT plugin whose first call holds the engine until released; later calls answer."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def execute(self, audio: Any, language: str | None = None) -> str:
        self.calls += 1
        if self.calls == 1:
            self.started.set()
            self.release.wait(60)
            return "first turn"
        return "a later turn"


async def open_text_session(client: AsyncOpenAI) -> Any:
    conn = await client.realtime.connect(model="gpt-realtime").enter()
    await collect(conn, "session.created")
    await conn.session.update(session={"type": "realtime", "output_modalities": ["text"], "audio": {
        "input": {"turn_detection": None, "transcription": {"model": "whisper-1"}}}})
    await collect(conn, "session.updated")
    return conn


async def commit_audio(conn: Any) -> None:
    await conn.input_audio_buffer.append(audio=base64.b64encode(silence(300)).decode())
    await conn.input_audio_buffer.commit()


async def until(conn: Any, *types: str) -> dict[str, Any]:
    while True:
        event = json.loads(await asyncio.wait_for(conn.recv_bytes(), 30))
        if event["type"] in types:
            return dict(event)


async def test_a_turn_that_waits_past_the_bound_fails_in_openais_shape_and_the_engine_goes_on() -> None:
    """Another session holds the STT: this turn's transcription fails (``...transcription.failed``) and its
    response ends ``failed`` with that error; the held turn is transcribed all the same, and so is a later one."""
    plugin = HoldsFirst()
    stt = PluginTranscriber(plugin, "holds-first", EngineThread("stt-test"))
    stt.bound_queue(0.0)
    import ovos_plugin_manager.utils.audio  # noqa: F401  # imported before the engine is held (the wrapper imports it)
    running = await start_server(speech=SpeechEngines(stt=stt))
    client = AsyncOpenAI(api_key=API_KEY, base_url=running.http)
    talking = await open_text_session(client)
    late = await open_text_session(client)
    try:
        await commit_audio(talking)
        await asyncio.to_thread(plugin.started.wait, 30)
        await commit_audio(late)
        await late.response.create()
        failed = await until(late, "conversation.item.input_audio_transcription.failed")
        done = await until(late, "response.done")
        plugin.release.set()
        held = await until(talking, "conversation.item.input_audio_transcription.completed")
        await commit_audio(late)
        again = await until(late, "conversation.item.input_audio_transcription.completed",
                            "conversation.item.input_audio_transcription.failed")
    finally:
        plugin.release.set()
        await talking.close()
        await late.close()
        await running.server.stop()
        stt.close()
    assert failed["error"]["code"] == "transcription_failed"
    assert "engine is busy" in failed["error"]["message"]
    response = done["response"]
    assert response["status"] == "failed"
    assert response["status_details"]["error"]["code"] == "transcription_failed"
    assert held["transcript"] == "first turn"
    assert again["type"].endswith(".completed") and again["transcript"] == "a later turn"
