"""STT and TTS on OVOS's own servers (``ovos-stt-server``, ``ovos-tts-server``, real processes on loopback) through
OVOS's client plugins (``ovos-stt-plugin-server``, ``ovos-tts-plugin-server``), chosen in the ``"realtime"``
section like any OPM plugin: a spoken question answered by the real date-time skill; a server lost mid-turn fails
that turn clearly, and the next turn works once it is back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from openai import AsyncOpenAI

from ovos_realtime_plugin.bus.assistant import OvosAssistantSettings, assistant_factory
from ovos_realtime_plugin.bus.client import BusConnection
from ovos_realtime_plugin.engines.choice import speech_choices
from ovos_realtime_plugin.engines.speech import LoadedSpeech, load_speech_engines, shipped_config
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings
from tests.fixtures_ovos import TIME_LIKE, OvosStack
from tests.fixtures_server import API_KEY, Served
from tests.fixtures_speech import silence, spoken
from tests.fixtures_speech_servers import OvosSpeechServer, OvosSpeechServers
from tests.sdk_helpers import collect, types
from tests.test_metrics import delta, http_get, scrape
from tests.test_voice_ovos import clock_numbers, heard_from_piper, sounds_alike
from tests.voice_helpers import first, open_voice_session, output_audio, response_failure, stream_audio, words

QUESTION = "what time is it"


@pytest.fixture(scope="module")
async def remote_speech(ovos_speech_servers: OvosSpeechServers) -> AsyncIterator[LoadedSpeech]:
    section = {**ovos_speech_servers.realtime_section(),
               "engines": {"tts_cache_mb": 0}}  # every sentence from the servers: none heard from memory
    choices = speech_choices({"realtime": section}, shipped_config())
    loaded = await asyncio.to_thread(load_speech_engines, choices)
    yield loaded
    loaded.close()


@pytest.fixture
async def remote_voice(ovos_stack: OvosStack, remote_speech: LoadedSpeech) -> AsyncIterator[Served]:
    """The Realtime server with remote STT/TTS and the real skills; transcripts only at the end of a turn, so a
    test can lose a server between the start of speech and the transcription."""
    bus = BusConnection(port=ovos_stack.port, source="ovos-realtime-remote-speech")
    await bus.connect()
    server = RealtimeServer(ServerSettings(port=0, api_keys=frozenset({API_KEY}), early_transcripts=False),
                            assistant_factory(bus, OvosAssistantSettings()), speech=remote_speech.engines)
    await server.start()
    yield Served(server)
    await server.stop()
    await bus.close()


async def spoken_turn(served: Served, lose: OvosSpeechServer | None = None,
                      until: str = "response.done") -> list[dict[str, Any]]:
    """Ask QUESTION aloud; with ``lose``, that server is killed once the speech has started (before any
    transcription or synthesis of this turn)."""
    client = AsyncOpenAI(api_key=API_KEY, base_url=served.http)
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await open_voice_session(conn)
        await stream_audio(conn, silence(400) + spoken(QUESTION), 48)
        events = await collect(conn, "input_audio_buffer.speech_started")
        if lose is not None:
            lose.stop()
        await stream_audio(conn, silence(900), 48)  # the pause that ends the turn
        events += await collect(conn, until)
    return events


async def turn_losing(served: Served, server: OvosSpeechServer) -> list[dict[str, Any]]:
    """A spoken turn that loses ``server`` once speech started; the server is back (same port) afterwards."""
    try:
        return await spoken_turn(served, lose=server)
    finally:
        if server.proc is None:
            await server.start()


async def test_a_spoken_question_is_answered_through_remote_stt_and_tts(remote_voice: Served,
                                                                        speech: LoadedSpeech) -> None:
    events = await spoken_turn(remote_voice)
    transcript = first(events, "conversation.item.input_audio_transcription.completed")["transcript"]
    assert words(transcript) == words(QUESTION)
    done = events[-1]["response"]
    assert done["status"] == "completed", done
    said = done["output"][-1]["content"][0]["transcript"]
    assert TIME_LIKE.search(said), said
    assert speech.stt is not None  # the local Whisper, to hear what the remote piper (the same voice) said
    heard = await speech.stt.transcribe(output_audio(events), 24000, "en-US")
    assert clock_numbers(said) & clock_numbers(heard) - {0} or sounds_alike(said, heard) or \
        sounds_alike(await heard_from_piper(speech, said), heard), (said, heard)
    health = json.loads((await http_get(remote_voice.server.port, "/healthz"))[2])
    assert health["engines"]["stt"] == "ovos-stt-plugin-server"
    assert health["engines"]["tts"] == "ovos-tts-plugin-server"


async def test_losing_the_stt_server_mid_turn_fails_the_turn_and_it_recovers(
        remote_voice: Served, ovos_speech_servers: OvosSpeechServers) -> None:
    stt, port = ovos_speech_servers.stt, remote_voice.server.port
    before = await scrape(port)
    events = await turn_losing(remote_voice, stt)
    error = first(events, "conversation.item.input_audio_transcription.failed")["error"]
    assert (error["type"], error["code"]) == ("transcription_error", "transcription_failed")
    assert "ovos-stt-plugin-server returned no transcript" in error["message"]
    failure = response_failure(events)  # the assistant heard nothing
    assert (failure["type"], failure["message"]) == ("server_error", error["message"])
    assert delta(before, await scrape(port), "engine_calls_total", engine="stt", outcome="error") == 1
    events = await spoken_turn(remote_voice)
    assert words(first(events, "conversation.item.input_audio_transcription.completed")["transcript"]) == words(
        QUESTION)
    assert events[-1]["response"]["status"] == "completed"


async def test_losing_the_tts_server_mid_turn_fails_its_audio_and_it_recovers(
        remote_voice: Served, ovos_speech_servers: OvosSpeechServers) -> None:
    events = await turn_losing(remote_voice, ovos_speech_servers.tts)
    error = response_failure(events)
    assert (error["type"], error["code"]) == ("server_error", "speech_synthesis_failed")
    assert "All OVOS TTS servers are down" in error["message"]
    assert "response.output_audio.delta" not in types(events)
    said = events[-1]["response"]["output"][-1]["content"][0]["transcript"]
    assert TIME_LIKE.search(said), said  # the answer's words still arrive, as its transcript
    events = await spoken_turn(remote_voice)
    assert events[-1]["response"]["status"] == "completed"
    assert output_audio(events)
