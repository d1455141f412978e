"""Engines that may run several calls at once do, on the real models: the default STT (its CTranslate2 model with
a replica per worker) and piper's lean voice each take two calls at once on two cores, and each result is what
the call gives alone. A plugin that does not say it is re-entrant keeps one call at a time."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from ovos_realtime_plugin.engines.choice import engine_workers, usable_cores
from ovos_realtime_plugin.engines.speech import LoadedSpeech
from ovos_realtime_plugin.engines.stt import PluginTranscriber, concurrent_calls
from ovos_realtime_plugin.engines.tts import SpeedGate
from ovos_realtime_plugin.engines.whisper_stt import FittedWhisperSTT, _samples
from ovos_realtime_plugin.engines.worker import EngineTimeout
from tests.fixtures_speech import spoken
from tests.voice_helpers import words

TWO_CORES = pytest.mark.skipif(usable_cores() < 2, reason="two workers need two cores")


def test_an_opm_plugin_that_says_nothing_takes_one_call_at_a_time() -> None:
    class Plain:
        pass

    class Odd:
        concurrent_calls = "many"

    assert concurrent_calls(Plain()) == 1 and concurrent_calls(Odd()) == 1


@TWO_CORES
def test_the_default_engines_run_two_calls_at_once_on_two_cores(speech: LoadedSpeech) -> None:
    assert isinstance(speech.stt, PluginTranscriber) and isinstance(speech.stt.plugin, FittedWhisperSTT)
    assert speech.stt.plugin.concurrent_calls == 2 and speech.stt._thread.workers == 2
    assert speech.tts is not None and speech.tts._thread.workers == engine_workers() == 2
    shared = speech.stt._thread.cores  # at most one call per core of the two engines together
    assert shared is speech.tts._thread.cores and shared.count == usable_cores()


@TWO_CORES
def test_two_utterances_heard_at_once_give_what_each_gives_alone(speech: LoadedSpeech) -> None:
    assert isinstance(speech.stt, PluginTranscriber) and isinstance(speech.stt.plugin, FittedWhisperSTT)
    model = speech.stt.plugin.model
    from ovos_plugin_manager.utils.audio import AudioData  # type: ignore[import-untyped]

    from ovos_realtime_plugin.audio.resample import resample

    said = [_samples(AudioData(resample(spoken(text), 24000, 16000), 16000, 2))
            for text in ("what time is it", "turn on the kitchen lights")]
    alone = [model.hear(samples, "en") for samples in said]
    both = threading.Barrier(2, timeout=60)

    def hear(samples: np.ndarray[Any, Any]) -> tuple[str, Any]:
        both.wait()
        return model.hear(samples, "en")

    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(hear, said))
    assert together == alone and "time" in alone[0][0].lower()


@TWO_CORES
async def test_two_sentences_spoken_at_once_are_each_heard_whole(speech: LoadedSpeech) -> None:
    """Both calls are inside piper at the same moment (each waits for the other there), and each sentence comes
    out whole: as long as alone (piper's noise makes no two runs equal to the sample) and heard as its words."""
    tts, stt = speech.tts, speech.stt
    assert tts is not None and stt is not None
    texts = ("The weather is sunny today.", "The kitchen lights are on.")
    alone = [await tts.synthesize(text, None, 1.0, "en-US") for text in texts]
    both = threading.Barrier(2, timeout=60)
    plugin_get_tts = tts.plugin.get_tts

    def meeting(*args: Any, **kwargs: Any) -> Any:
        both.wait()  # breaks unless the other sentence is being made at the same time
        return plugin_get_tts(*args, **kwargs)

    tts.plugin.get_tts = meeting
    try:
        together = await asyncio.gather(*(tts.synthesize(text, None, 1.0, "en-US") for text in texts))
    finally:
        del tts.plugin.get_tts
    for text, (pcm, rate), (pcm_alone, _) in zip(texts, together, alone, strict=True):
        assert abs(len(pcm) - len(pcm_alone)) < 0.2 * len(pcm_alone)
        heard = words(await stt.transcribe(pcm, rate, "en-US"))
        assert len(set(words(text)) & set(heard)) >= len(words(text)) - 2, (text, heard)  # Whisper tiny mishears


def test_a_call_at_another_speed_waits_until_the_calls_at_the_current_one_are_done() -> None:
    gate = SpeedGate()
    entered: list[str] = []
    release = threading.Event()

    def speak(name: str, speed: float) -> None:
        with gate.held(speed, timeout=30):
            entered.append(name)
            release.wait(30)

    first = threading.Thread(target=speak, args=("first at 1.0", 1.0))
    first.start()
    while not entered:
        release.wait(0.01)
    faster = threading.Thread(target=speak, args=("at 1.5", 1.5))
    faster.start()
    with gate.held(1.0, timeout=30):  # the same speed goes in beside the first
        entered.append("second at 1.0")
    assert entered == ["first at 1.0", "second at 1.0"]
    release.set()
    first.join(30)
    faster.join(30)
    assert entered == ["first at 1.0", "second at 1.0", "at 1.5"]


def test_a_call_that_cannot_get_its_speed_in_time_fails_as_a_timeout() -> None:
    gate = SpeedGate()
    with gate.held(1.0, timeout=1), pytest.raises(EngineTimeout, match="another speed"):
        with gate.held(2.0, timeout=0):
            pass
