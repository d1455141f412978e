"""Real speech for the voice tests: espeak-ng utterances and the default OPM engines, loaded once per session.

The engines are the offline defaults (faster-whisper tiny.en, piper joe, Silero), exactly as the daemon loads
them; one extra Realtime voice, ``"broken"``, maps to a piper voice that does not exist, so a test can make the
real TTS plugin fail.
"""

from __future__ import annotations

import functools
import subprocess
from collections.abc import AsyncIterator, Iterator

import pytest

from ovos_realtime_plugin.audio.resample import resample
from ovos_realtime_plugin.engines.choice import speech_choices
from ovos_realtime_plugin.engines.speech import LoadedSpeech, load_speech_engines, shipped_config
from ovos_realtime_plugin.engines.tts import read_wav
from tests.fixtures_server import Running, start_server

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


__all__ = ["BROKEN_VOICE", "read_wav", "spoken", "silence", "duration_ms", "voiced_ms"]


@pytest.fixture(scope="session")
def speech() -> Iterator[LoadedSpeech]:
    conf = {"realtime": {"voices": {BROKEN_VOICE: "no-such-piper-voice"}}}
    loaded = load_speech_engines(speech_choices(conf, shipped_config()))
    yield loaded
    loaded.close()


@pytest.fixture(scope="session")
async def voice_server(speech: LoadedSpeech) -> AsyncIterator[Running]:
    """The real server with the real speech engines and the scripted assistant."""
    running = await start_server(speech=speech.engines)
    yield running
    await running.server.stop()
