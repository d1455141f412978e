"""A spoken question answered by a skill that only answers: its answer and speech are ready before the turn ends.

Real parts throughout: espeak-ng speech → Silero → Whisper → the date-time skill on the real bus → piper, the
official SDK as the client. The silence window is long (2 s) and the test waits for the prepared utterance on the
bus before sending the rest of the silence, so the order is certain on any machine.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from openai import AsyncOpenAI

from ovos_realtime_plugin.bus import names
from ovos_realtime_plugin.bus.assistant import OvosAssistantSettings, assistant_factory
from ovos_realtime_plugin.bus.client import BusConnection
from ovos_realtime_plugin.bus.session import ovos_session_id
from ovos_realtime_plugin.core import effects as fx
from ovos_realtime_plugin.engines.speech import LoadedSpeech
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings
from ovos_realtime_plugin.server.speech_driver import SpeechDriver
from ovos_realtime_plugin.server.speech_engines import SpeechEngines, Synthesizer, WholeSentences
from tests.fixtures_ovos import TIME_LIKE, OvosStack, drain, next_of_type, observe
from tests.fixtures_server import API_KEY, Served
from tests.fixtures_speech import one_sentence_response, silence, spoken
from tests.sdk_helpers import collect, types
from tests.voice_helpers import first, output_audio, stream_audio

BYTES_PER_MS = 48  # PCM16 at 24 kHz


class CountingTTS(WholeSentences):
    """The real TTS engine, counting the sentences it is asked to synthesize."""

    def __init__(self, tts: Synthesizer) -> None:
        self.tts, self.texts = tts, list[str]()

    async def synthesize(self, text: str, voice: str | None, speed: float, lang: str) -> tuple[bytes, int]:
        self.texts.append(text)
        return await self.tts.synthesize(text, voice, speed, lang)


@pytest.fixture
async def counted(ovos_stack: OvosStack, speech: LoadedSpeech) -> AsyncIterator[tuple[Served, CountingTTS]]:
    assert speech.engines.tts is not None
    tts = CountingTTS(speech.engines.tts)
    bus = BusConnection(port=ovos_stack.port, source="ovos-realtime-early")
    await bus.connect()
    server = RealtimeServer(ServerSettings(port=0, api_keys=frozenset({API_KEY})),
                            assistant_factory(bus, OvosAssistantSettings(source="ovos-realtime-early")),
                            speech=dataclasses.replace(speech.engines, tts=tts))
    await server.start()
    yield Served(server), tts
    await server.stop()
    await bus.close()


async def test_the_answer_is_spoken_from_speech_made_before_the_turn_ended(
        ovos_stack: OvosStack, counted: tuple[Served, CountingTTS]) -> None:
    served, tts = counted
    client = AsyncOpenAI(api_key=API_KEY, base_url=served.http)
    async with client.realtime.connect(model="gpt-realtime") as conn:
        created = await collect(conn, "session.created")
        await conn.session.update(session={"type": "realtime", "output_modalities": ["audio"], "audio": {"input": {
            "transcription": {"model": "whisper-1"},
            "turn_detection": {"type": "server_vad", "silence_duration_ms": 2000}}}})
        await collect(conn, "session.updated")
        observer, seen = await observe(ovos_stack.port, ovos_session_id(created[0]["session"]["id"],
                                                                        "ovos-realtime-early"))
        try:
            # the pause is told (and its answer prepared) EARLY_LEAD_MS before the 2 s window ends
            await stream_audio(conn, silence(400) + spoken("what time is it") + silence(1800), BYTES_PER_MS)
            prepared = await next_of_type(seen, names.UTTERANCE, timeout=30.0)  # the turn has only paused
            assert prepared.data["utterances"][0].lower().startswith("what time is it")
            await next_of_type(seen, names.UTTERANCE_HANDLED, timeout=10.0)
            await stream_audio(conn, silence(2200), BYTES_PER_MS)
            events = await collect(conn, "response.done")
            assert [m for m in drain(seen) if m.type == names.UTTERANCE] == []  # the skill ran once
        finally:
            await observer.close()
    said = first(events, "response.output_audio_transcript.done")["transcript"]
    assert TIME_LIKE.search(said), said
    assert first(events, "response.done")["response"]["status"] == "completed"
    assert tts.texts == [said]  # synthesized once, before the turn ended; the response used that speech


class BreaksFirst(WholeSentences):
    """The real TTS engine, whose first call breaks."""

    def __init__(self, tts: Synthesizer) -> None:
        self.tts, self.texts = tts, list[str]()

    async def synthesize(self, text: str, voice: str | None, speed: float, lang: str) -> tuple[bytes, int]:
        self.texts.append(text)
        if len(self.texts) == 1:
            raise RuntimeError("the TTS model crashed")
        return await self.tts.synthesize(text, voice, speed, lang)


async def test_speech_that_failed_to_be_prepared_is_synthesized_by_its_response(speech: LoadedSpeech) -> None:
    """Preparing is optional work: its failure fails nothing, and the response's own synthesis goes ahead."""
    assert speech.engines.tts is not None
    session, synthesize = one_sentence_response("It's ten past two.", asked="what time is it")
    tts = BreaksFirst(speech.engines.tts)
    flushed = asyncio.Event()
    driver = SpeechDriver(session, SpeechEngines(tts=tts), flushed.set,
                          logging.LoggerAdapter(logging.getLogger("test.speech")))
    events: list[dict[str, Any]] = []
    try:
        driver.execute(fx.PrepareSpeech((fx.PreparedSentence("speech_1", synthesize.text),), synthesize.voice,
                                        synthesize.speed, synthesize.language))
        driver.execute(dataclasses.replace(synthesize, prepared="speech_1"))
        while "response.done" not in types(events):
            await asyncio.wait_for(flushed.wait(), 30)
            flushed.clear()
            events += session.pop_events()
    finally:
        driver.close()
    assert tts.texts == ["It's ten past two."] * 2  # prepared (broke), then the response's own
    assert "error" not in types(events)
    assert first(events, "response.done")["response"]["status"] == "completed"
    assert output_audio(events)
