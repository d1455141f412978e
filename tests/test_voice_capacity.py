"""Voice capacity (docs/SCALING.md): a session counts as voice from its first input audio that reaches the engines;
past ``"limits": {"max_voice_sessions"}`` a session is refused at that audio (``error`` ``session_limit_reached``,
close 1013), or, with ``"voice_busy_line"``, its turns are answered with that sentence from memory (no STT, no
assistant, no TTS call) until a place is free. Text sessions never count. Over the real server with a raw
WebSocket client; the engines are real engine threads around OPM-style plugins that record their calls."""

from __future__ import annotations

import asyncio
import base64
import os
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from ovos_realtime_plugin.engines.stt import PluginTranscriber
from ovos_realtime_plugin.engines.tts import PluginSynthesizer
from ovos_realtime_plugin.engines.vad import PluginSpeechDetector
from ovos_realtime_plugin.engines.worker import EngineThread
from ovos_realtime_plugin.server.settings import ServerSettings, from_config
from ovos_realtime_plugin.server.speech_engines import SpeechEngines
from ovos_realtime_plugin.server.voice_capacity import VOICE_SESSIONS_PER_CORE, VoiceCapacity
from tests.fixtures_server import Running, start_server
from tests.sdk_helpers import user_text
from tests.test_errors import AUTH, PCM_100MS, Raw, ws_url

QUESTION = "what time is it"
BUSY = "Sorry, I am busy right now. Please ask again in a moment."


@dataclass
class Plugins:
    """OPM-style plugins: a VAD that hears silence, an STT that hears the question, a TTS that speaks a tone."""

    heard: int = 0
    spoken: list[str] = field(default_factory=list)

    def vad(self, samples: Any) -> float:
        return 0.0

    def execute(self, audio: Any, language: str | None = None) -> str:
        self.heard += 1
        return QUESTION

    def get_tts(self, sentence: str, wav_file: str, lang: str | None = None, voice: str | None = None) -> None:
        self.spoken.append(sentence)
        with wave.open(wav_file, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(16000)
            wav.writeframes(b"\x10\x00" * 1600)


@pytest.fixture
async def plugins() -> AsyncIterator[tuple[Plugins, SpeechEngines]]:
    made = Plugins()
    threads = [EngineThread(name) for name in ("vad-test", "stt-test", "tts-test")]
    engines = SpeechEngines(new_vad=lambda: PluginSpeechDetector(lambda: made, threads[0]),
                            stt=PluginTranscriber(made, "question-stt", threads[1]),
                            tts=PluginSynthesizer(made, "tone-tts", threads[2], {}))
    import ovos_plugin_manager.utils.audio  # noqa: F401
    yield made, engines
    for thread in threads:
        thread.close()


def manual(modalities: list[str]) -> dict[str, Any]:
    return {"type": "session.update", "session": {"type": "realtime", "output_modalities": modalities, "audio": {
        "input": {"turn_detection": None, "transcription": {"model": "whisper-1"}}}}}


async def opened(ws: ClientConnection, update: dict[str, Any]) -> Raw:
    raw = Raw(ws)
    await raw.until("session.created")
    await raw.send(update)
    await raw.until("session.updated")
    return raw


async def spoken_turn(raw: Raw, respond: bool = False) -> list[dict[str, Any]]:
    """Audio appended and committed (the turn): its transcription's events, and with ``respond`` its response's."""
    await raw.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(PCM_100MS * 3).decode()})
    await raw.send({"type": "input_audio_buffer.commit"})
    events = await raw.until("conversation.item.input_audio_transcription.completed")
    if respond:
        await raw.send({"type": "response.create"})
        events += await raw.until("response.done")
    return events


async def refused_at_first_audio(raw: Raw, commit: bool = False) -> dict[str, Any]:
    await raw.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(PCM_100MS).decode()})
    if commit:  # no turn detection: the audio reaches the engines when the client commits it
        await raw.send({"type": "input_audio_buffer.commit"})
    error = (await raw.until("error"))[-1]["error"]
    with pytest.raises(ConnectionClosed):
        await raw.recv()
    return dict(error)


async def voice_sessions_drop_to(served: Running, count: int) -> None:
    """The server has seen a closed session go (it releases its place once the socket's end reaches it)."""
    async with asyncio.timeout(30):
        while len(served.server.voice.voice) > count:  # noqa: ASYNC110  (the server's own state: nothing to await)
            await asyncio.sleep(0.01)


async def test_a_session_past_the_voice_limit_is_refused_at_its_first_audio(
        plugins: tuple[Plugins, SpeechEngines]) -> None:
    made, engines = plugins
    served = await start_server(speech=engines, max_voice_sessions=2)
    try:
        async with connect(ws_url(served), additional_headers=AUTH) as first, \
                connect(ws_url(served), additional_headers=AUTH) as second, \
                connect(ws_url(served), additional_headers=AUTH) as text_only, \
                connect(ws_url(served), additional_headers=AUTH) as third, \
                connect(ws_url(served), additional_headers=AUTH) as fourth:
            for ws in (first, second):
                transcript = (await spoken_turn(await opened(ws, manual(["text"]))))[-1]["transcript"]
                assert transcript == QUESTION
            chat = await opened(text_only, manual(["text"]))  # text sessions never count
            await chat.item(user_text("hello"))
            await chat.send({"type": "response.create"})
            assert (await chat.until("response.done"))[-1]["response"]["status"] == "completed"
            vad = {"type": "session.update", "session": {"type": "realtime", "audio": {"input": {
                "turn_detection": {"type": "server_vad", "create_response": False}}}}}
            error = await refused_at_first_audio(await opened(third, vad))
            assert third.close_code == 1013
            assert (error["type"], error["code"]) == ("invalid_request_error", "session_limit_reached")
            assert "limit of 2 concurrent voice sessions" in error["message"]
            assert (await refused_at_first_audio(await opened(fourth, manual(["text"])), commit=True))["code"] == \
                "session_limit_reached"
            assert fourth.close_code == 1013
        await voice_sessions_drop_to(served, 0)
        async with connect(ws_url(served), additional_headers=AUTH) as again:  # places are given back
            assert (await spoken_turn(await opened(again, manual(["text"]))))[-1]["transcript"] == QUESTION
        assert made.heard == 3
    finally:
        await served.server.stop()


async def test_past_the_limit_a_busy_line_answers_from_memory_until_a_place_is_free(
        plugins: tuple[Plugins, SpeechEngines]) -> None:
    made, engines = plugins
    served = await start_server(speech=engines, max_voice_sessions=1, voice_busy_line=BUSY)
    assert made.spoken == ["Sorry, I am busy right now.", "Please ask again in a moment."]  # once, at start
    try:
        async with connect(ws_url(served), additional_headers=AUTH) as first, \
                connect(ws_url(served), additional_headers=AUTH) as second:
            talking = await opened(first, manual(["audio"]))
            await spoken_turn(talking, respond=True)
            waiting = await opened(second, manual(["audio"]))
            heard, spoken = made.heard, len(made.spoken)
            busy = await spoken_turn(waiting, respond=True)
            assert (made.heard, len(made.spoken)) == (heard, spoken)  # no engine was asked for the busy turn
            response = busy[-1]["response"]
            assert response["status"] == "completed"
            said = [part["transcript"] for item in response["output"] for part in item["content"]]
            assert " ".join(said).strip() == BUSY
            assert any(e["type"] == "response.output_audio.delta" for e in busy)
            await first.close()
            await voice_sessions_drop_to(served, 0)
            answered = await spoken_turn(waiting, respond=True)  # the freed place is taken at the next turn
            said = [part["transcript"] for item in answered[-1]["response"]["output"] for part in item["content"]]
            assert QUESTION in " ".join(said)
            assert made.heard == heard + 1
    finally:
        await served.server.stop()


def test_the_voice_limit_and_busy_line_come_from_the_limits_section() -> None:
    settings = from_config({"limits": {"max_voice_sessions": 12, "voice_busy_line": BUSY}})
    assert (settings.max_voice_sessions, settings.voice_busy_line) == (12, BUSY)
    default = ServerSettings()
    assert default.max_voice_sessions == VOICE_SESSIONS_PER_CORE * len(os.sched_getaffinity(0))
    assert default.voice_busy_line is None


def test_no_limit_when_it_is_zero_and_a_place_is_kept_until_released() -> None:
    unlimited = VoiceCapacity(0)
    assert all(unlimited.admit(f"sess_{n}") for n in range(100))
    one = VoiceCapacity(1)
    assert one.admit("a") and one.admit("a") and not one.admit("b")
    one.release("a")
    assert one.admit("b")
