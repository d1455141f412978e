"""Speech work that breaks fails exactly its transcript or sentence; the session goes on and later responses start.

Odd-length PCM and broken engine output go through the real server, the real engines and the official SDK;
a decode failure (no wire input reaches one) drives the real speech driver with a real session.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from openai import AsyncOpenAI

from ovos_realtime_plugin.core import effects as fx
from ovos_realtime_plugin.core.assistant import AssistantBase, AssistantOutput, AssistantRequest, TextDelta
from ovos_realtime_plugin.core.formats import AudioFormat
from ovos_realtime_plugin.engines.speech import LoadedSpeech
from ovos_realtime_plugin.protocol.parse import parse_event
from ovos_realtime_plugin.protocol.session import RealtimeSession
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings
from ovos_realtime_plugin.server.speech_driver import SpeechDriver
from ovos_realtime_plugin.server.speech_engines import SpeechEngines, Synthesizer, WholeSentences
from tests.fixtures_server import API_KEY, Running, start_server
from tests.fixtures_speech import DrivenSession, silence, spoken
from tests.sdk_helpers import collect, user_text
from tests.voice_helpers import first, output_audio, response_failure, words

TEXT_SESSION = {"type": "realtime", "output_modalities": ["text"],
                "audio": {"input": {"turn_detection": None, "transcription": {"model": "whisper-1"}}}}


async def test_odd_length_pcm_committed_is_transcribed_and_later_responses_start(voice_server: Running) -> None:
    audio = silence(200) + spoken("turn on the lights") + silence(300) + b"\x01"  # a torn last sample
    async with AsyncOpenAI(api_key=API_KEY, base_url=voice_server.http).realtime.connect(
            model="gpt-realtime") as conn:
        await collect(conn, "session.created")
        await conn.session.update(session=TEXT_SESSION)
        await collect(conn, "session.updated")
        await conn.input_audio_buffer.append(audio=base64.b64encode(audio).decode())
        await conn.input_audio_buffer.commit()
        await conn.response.create()
        answered = await collect(conn, "response.done")
        await conn.conversation.item.create(item=user_text("still there?"))
        await conn.response.create()
        later = await collect(conn, "response.done")
    transcript = first(answered, "conversation.item.input_audio_transcription.completed")["transcript"]
    assert words(transcript) == ["turn", "on", "the", "lights"]
    assert answered[-1]["response"]["status"] == "completed"
    assert later[-1]["response"]["status"] == "completed"
    assert "still there" in later[-1]["response"]["output"][0]["content"][0]["text"]


class BrokenSecondSentence(WholeSentences):
    """A real TTS engine whose output for the second sentence is broken (half a sample at rate 0)."""

    def __init__(self, tts: Synthesizer) -> None:
        self.tts = tts
        self.calls = 0

    async def synthesize(self, text: str, voice: str | None, speed: float, lang: str) -> tuple[bytes, int]:
        self.calls += 1
        if self.calls == 2:
            return b"\x00", 0
        return await self.tts.synthesize(text, voice, speed, lang)


async def test_broken_tts_output_mid_response_fails_that_sentence_and_the_response_finishes(
        speech: LoadedSpeech) -> None:
    assert speech.engines.tts is not None
    broken = BrokenSecondSentence(speech.engines.tts)
    running = await start_server(speech=SpeechEngines(stt=speech.engines.stt, tts=broken))
    try:
        spoken_events, later = await two_responses(running.http, "audio",
                                                   "the first one. Then the second one. The end")
    finally:
        await running.server.stop()
    error = response_failure(spoken_events)
    assert error["type"] == "server_error" and error["code"] == "speech_synthesis_failed"
    assert "sample rates must be positive" in error["message"]
    assert len(output_audio(spoken_events)) > 24000  # the other sentences were spoken
    assert later[-1]["response"]["status"] == "completed" and len(output_audio(later)) > 24000
    assert broken.calls >= 4


async def test_a_decode_failure_fails_that_transcript_and_its_response_logs_the_bug_and_a_later_response_starts(
        speech: LoadedSpeech, caplog: pytest.LogCaptureFixture) -> None:
    session = RealtimeSession(clock=lambda: 1_700_000_000.0)
    session.start()
    audio = base64.b64encode(silence(300)).decode()
    for event in ({"type": "session.update", "session": TEXT_SESSION},
                  {"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [
                      {"type": "input_audio", "audio": audio}]}},
                  {"type": "response.create"}):
        session.handle(parse_event(json.dumps(event), "ga"))
    effects = session.pop_effects()
    transcribe = next(e for e in effects if isinstance(e, fx.Transcribe))
    assert not any(isinstance(e, fx.RunAssistant) for e in effects)  # the response waits for the transcript
    session.pop_events()
    flushed = asyncio.Event()
    driver = SpeechDriver(session, SpeechEngines(stt=speech.engines.stt), flushed.set,
                          logging.LoggerAdapter(logging.getLogger("test.speech")))
    try:
        driver.execute(dataclasses.replace(transcribe, format=AudioFormat("audio/x-broken", 24000)))
        await asyncio.wait_for(flushed.wait(), 30)
    finally:
        driver.close()
    events = session.pop_events()
    failed = first(events, "conversation.item.input_audio_transcription.failed")
    assert failed["item_id"] == transcribe.item_id and failed["error"]["code"] == "transcription_failed"
    assert "unsupported audio format" in failed["error"]["message"]
    done = first(events, "response.done")["response"]  # the assistant would hear nothing: that turn fails
    assert done["status"] == "failed" and done["status_details"]["error"]["code"] == "transcription_failed"
    assert not any(isinstance(e, fx.RunAssistant) for e in session.pop_effects())
    assert session.pending_transcripts == {}
    for event in ({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [
                      {"type": "input_text", "text": "hello"}]}},
                  {"type": "response.create"}):
        session.handle(parse_event(json.dumps(event), "ga"))
    run = [e for e in session.pop_effects() if isinstance(e, fx.RunAssistant)]
    assert len(run) == 1 and run[0].request.items[-1].content[0].text == "hello"  # a later response starts
    bug = [r for r in caplog.records if r.name == "test.speech" and r.levelno == logging.ERROR]
    assert bug and bug[0].exc_info is not None  # our own bug: logged with its traceback


class CrashOnce:
    """A VAD engine that breaks on its first chunk, then hears silence (the default plugins cannot fail on demand)."""

    def __init__(self) -> None:
        self.chunks = 0
        self.sizes: list[int] = []

    async def probabilities(self, pcm16_16k: bytes) -> list[float]:
        self.chunks += 1
        self.sizes.append(len(pcm16_16k))
        if self.chunks == 1:
            raise RuntimeError("the VAD model crashed")
        return [0.0] * (len(pcm16_16k) // 1024)

    def reset(self) -> None:
        pass


async def test_a_vad_failure_is_reported_and_detection_goes_on_for_later_audio() -> None:
    detector = CrashOnce()
    flushed = asyncio.Queue[None]()

    def flush() -> None:  # the driver flushes after each job
        flushed.put_nowait(None)

    driven = DrivenSession(SpeechEngines(new_vad=lambda: detector), flush)
    audio = base64.b64encode(silence(200)).decode()

    def append(times: int) -> None:
        for _ in range(times):
            driven.send({"type": "input_audio_buffer.append", "audio": audio})

    try:
        append(1)
        await asyncio.wait_for(flushed.get(), 30)  # the first detection crashed
        append(2)  # queued together behind nothing running: still one job, one model call
        await asyncio.wait_for(flushed.get(), 30)
    finally:
        driven.driver.close()
    errors = [e["error"] for e in driven.session.pop_events() if e["type"] == "error"]
    assert [(e["type"], e["code"]) for e in errors] == [("server_error", "server_error")]
    assert "the VAD model crashed" in errors[0]["message"] and detector.chunks == 2
    assert detector.sizes[1] > 1.5 * detector.sizes[0]  # the two appends' audio in one detection


class BrokenOutput(AssistantBase):
    """An assistant whose second output the core cannot take (a text delta that is a number)."""

    async def respond(self, request: AssistantRequest) -> AsyncIterator[AssistantOutput]:
        yield TextDelta("Fine so far. ")
        if len(request.items) == 1:
            yield TextDelta(42)  # type: ignore[arg-type]  # what a buggy assistant could send
        yield TextDelta("And on.")


async def test_a_core_bug_on_an_assistant_output_fails_that_response_at_error_level_and_the_next_one_works(
        caplog: pytest.LogCaptureFixture) -> None:
    server = RealtimeServer(ServerSettings(port=0, api_keys=frozenset({API_KEY})), lambda session: BrokenOutput())
    await server.start()
    try:
        broken, later = await two_responses(f"http://127.0.0.1:{server.port}/v1", "text", "hello")
    finally:
        await server.stop()
    assert response_failure(broken)["type"] == "server_error"
    assert later[-1]["response"]["status"] == "completed"
    bugs = [r for r in caplog.records if r.levelno == logging.ERROR and r.name.startswith("ovos_realtime_plugin")]
    assert bugs and bugs[0].exc_info is not None and isinstance(bugs[0].exc_info[1], TypeError)


Events = list[dict[str, Any]]


async def two_responses(base_url: str, modality: str, text: str) -> tuple[Events, Events]:
    """A session with ``modality`` output: ``text`` as a user message, then two responses in a row (their events)."""
    async with AsyncOpenAI(api_key=API_KEY, base_url=base_url).realtime.connect(model="gpt-realtime") as conn:
        await collect(conn, "session.created")
        await conn.session.update(session={"type": "realtime", "output_modalities": [modality]})
        await collect(conn, "session.updated")
        await conn.conversation.item.create(item=user_text(text))
        await conn.response.create()
        first_events = await collect(conn, "response.done")
        await conn.response.create()
        return first_events, await collect(conn, "response.done")


class SwallowsCancel:
    """A detector whose call ends normally when cancelled, as ``asyncio.wait_for`` on Python 3.11 returns an
    engine's result that arrives just as its caller is cancelled."""

    def __init__(self) -> None:
        self.calls = 0
        self.running = asyncio.Event()

    async def probabilities(self, pcm16_16k: bytes) -> list[float]:
        self.calls += 1
        self.running.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            pass
        return []

    def reset(self) -> None:
        pass


async def test_a_closed_session_runs_none_of_its_queued_speech_work_even_if_a_job_swallows_the_cancellation() -> None:
    detector = SwallowsCancel()
    driven = DrivenSession(SpeechEngines(new_vad=lambda: detector))
    audio = base64.b64encode(silence(200)).decode()
    before = asyncio.all_tasks()
    driven.send({"type": "input_audio_buffer.append", "audio": audio})
    await asyncio.wait_for(detector.running.wait(), 30)
    driven.send({"type": "input_audio_buffer.append", "audio": audio})  # queued behind the running detection
    driven.driver.close()
    lanes = asyncio.all_tasks() - before  # the driver's VAD lane
    await asyncio.wait_for(asyncio.wait(lanes), 30)
    assert detector.calls == 1
