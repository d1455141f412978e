"""Real speech for the voice tests: espeak-ng utterances and the default OPM engines, loaded once per session.

The engines are the offline defaults (faster-whisper tiny.en, piper joe, Silero), exactly as the daemon loads
them; one extra Realtime voice, ``"broken"``, maps to a piper voice that does not exist, so a test can make the
real TTS plugin fail.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from ovos_realtime_plugin.audio.resample import resample
from ovos_realtime_plugin.core import effects as fx
from ovos_realtime_plugin.core.assistant import TextDelta
from ovos_realtime_plugin.engines.choice import STT_DEFAULT, offline_default, speech_choices
from ovos_realtime_plugin.engines.speech import LoadedSpeech, load_speech_engines, shipped_config
from ovos_realtime_plugin.engines.stt import PluginTranscriber
from ovos_realtime_plugin.engines.tts import read_wav
from ovos_realtime_plugin.protocol.parse import parse_event
from ovos_realtime_plugin.protocol.session import RealtimeSession
from ovos_realtime_plugin.server.speech_driver import SpeechDriver
from ovos_realtime_plugin.server.speech_engines import SpeechEngines
from tests.fixtures_server import Running, start_server
from tests.sdk_helpers import user_text

BROKEN_VOICE = "broken"


@functools.lru_cache(maxsize=64)
def spoken(text: str, rate: int = 24000, wpm: int = 160, voice: str = "en-us") -> bytes:
    """``text`` spoken by espeak-ng (``voice``), as mono PCM16 at ``rate``."""
    out = subprocess.run(["espeak-ng", "-v", voice, "-s", str(wpm), "-w", "/dev/stdout", text],
                         check=True, capture_output=True).stdout
    import io
    import wave

    with wave.open(io.BytesIO(out)) as wav:
        pcm, source_rate = wav.readframes(wav.getnframes()), wav.getframerate()
    return resample(pcm, source_rate, rate)


def silence(ms: int, rate: int = 24000) -> bytes:
    return bytes(rate * ms // 1000 * 2)


def duration_ms(pcm16: bytes, rate: int = 24000) -> int:
    return len(pcm16) * 1000 // 2 // rate


def voiced_ms(pcm16: bytes, rate: int = 24000, level: int = 500) -> tuple[int, int]:
    """Where the voice in ``pcm16`` starts and ends (espeak-ng pads its output with silence)."""
    import numpy as np

    loud = np.nonzero(np.abs(np.frombuffer(pcm16, "<i2").astype(np.int32)) > level)[0]
    return int(loud[0]) * 1000 // rate, int(loud[-1]) * 1000 // rate


class DrivenSession:
    """A sans-I/O session whose effects a real speech driver carries out, fed client events as its connection
    would feed them."""

    def __init__(self, engines: SpeechEngines, flush: Callable[[], None] = lambda: None) -> None:
        self.session = RealtimeSession(clock=lambda: 1_700_000_000.0)
        self.session.start()
        self.driver = SpeechDriver(self.session, engines, flush,
                                   logging.LoggerAdapter(logging.getLogger("test.speech")))

    def send(self, event: dict[str, Any]) -> None:
        self.session.handle(parse_event(json.dumps(event), "ga"))
        for effect in self.session.pop_effects():
            self.driver.execute(effect)


def one_sentence_response(said: str, asked: str = "say something") -> tuple[RealtimeSession, fx.Synthesize]:
    """A sans-I/O session (no turn detection, audio out) whose response to ``asked`` says ``said`` in one
    sentence, and the core's ask to synthesize it: what a speech driver test carries out."""
    session = RealtimeSession(clock=lambda: 1_700_000_000.0)
    session.start()
    for event in ({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["audio"],
                                                         "audio": {"input": {"turn_detection": None}}}},
                  {"type": "conversation.item.create", "item": user_text(asked)},
                  {"type": "response.create"}):
        session.handle(parse_event(json.dumps(event), "ga"))
    (run,) = [e for e in session.pop_effects() if isinstance(e, fx.RunAssistant)]
    rid = run.request.response_id
    session.on_assistant_output(rid, TextDelta(said, utterance_end=True))
    session.on_assistant_end(rid)
    (synthesize,) = [e for e in session.pop_effects() if isinstance(e, fx.Synthesize)]
    return session, synthesize


__all__ = ["BROKEN_VOICE", "read_wav", "spoken", "silence", "duration_ms", "voiced_ms", "one_sentence_response",
           "engines_from", "serving"]


@contextlib.contextmanager
def engines_from(conf: dict[str, Any]) -> Iterator[LoadedSpeech]:
    """The speech engines a mycroft.conf of ``conf`` loads, closed after."""
    loaded = load_speech_engines(speech_choices(conf, shipped_config()))
    try:
        yield loaded
    finally:
        loaded.close()


@contextlib.asynccontextmanager
async def serving(engines: SpeechEngines) -> AsyncIterator[Running]:
    """The real server with these engines and the scripted assistant, stopped after."""
    running = await start_server(speech=engines)
    try:
        yield running
    finally:
        await running.server.stop()


@pytest.fixture(scope="session")
def whisper() -> Iterator[PluginTranscriber]:
    """The default STT (the fitted Whisper), loaded on its own: for tests of the plugin itself."""
    assert STT_DEFAULT == "ovos-stt-plugin-whisper-fitted"
    stt = PluginTranscriber.load(offline_default("stt"), "en-US")
    yield stt
    stt.close()


@pytest.fixture(scope="session")
def speech() -> Iterator[LoadedSpeech]:
    with engines_from({"realtime": {"voices": {BROKEN_VOICE: "no-such-piper-voice"}}}) as loaded:
        yield loaded


@pytest.fixture(scope="session")
async def voice_server(speech: LoadedSpeech) -> AsyncIterator[Running]:
    """The real server with the real speech engines and the scripted assistant."""
    async with serving(speech.engines) as running:
        yield running
