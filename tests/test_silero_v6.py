"""The default VAD, Silero v6 from faster-whisper's package: found by name through OPM, one model call per
chunk giving the same probabilities as frame by frame with the state carried across calls, speech told from
silence on real speech, one shared lean session for every detector."""

from __future__ import annotations

import numpy as np

from ovos_realtime_plugin.audio.resample import resample
from ovos_realtime_plugin.engines.choice import VAD_DEFAULT, offline_default
from ovos_realtime_plugin.engines.loader import plugin_class
from ovos_realtime_plugin.engines.silero_vad import FRAME, SileroV6, SileroV6VAD
from ovos_realtime_plugin.engines.vad import PluginVad
from ovos_realtime_plugin.engines.worker import EngineThread
from tests.fixtures_speech import silence, spoken

FRAME_BYTES = FRAME * 2


def speech_16k() -> bytes:
    return resample(silence(320) + spoken("what time is it") + silence(640), 24000, 16000)


def test_opm_finds_it_and_it_is_the_default() -> None:
    assert VAD_DEFAULT == "ovos-vad-plugin-silero-v6"
    assert plugin_class("vad", VAD_DEFAULT) is SileroV6VAD


def test_one_call_per_chunk_equals_frame_by_frame_with_the_state_carried() -> None:
    audio = speech_16k()
    whole = SileroV6().probabilities(audio)
    stepwise = SileroV6()
    by_frame = [p for i in range(0, len(audio) - FRAME_BYTES + 1, FRAME_BYTES)
                for p in stepwise.probabilities(audio[i:i + FRAME_BYTES])]
    assert len(whole) == len(audio) // FRAME_BYTES == len(by_frame)
    assert np.allclose(whole, by_frame, atol=1e-5)
    fresh = SileroV6()
    fresh.probabilities(audio)
    fresh.reset()  # a reset forgets the stream: the same audio gives the same verdicts again
    assert np.allclose(fresh.probabilities(audio), whole, atol=1e-5)


def test_speech_is_told_from_silence() -> None:
    probabilities = SileroV6().probabilities(speech_16k())
    lead, speech, tail = probabilities[:8], probabilities[12:40], probabilities[-12:]
    assert max(lead) < 0.2 and max(tail) < 0.2
    assert np.median(speech) > 0.8
    plugin = SileroV6VAD(config={})
    assert plugin.is_silence(resample(silence(320), 24000, 16000))
    assert not plugin.is_silence(resample(spoken("what time is it"), 24000, 16000)[:FRAME_BYTES * 12])


async def test_detectors_share_one_session_and_keep_their_own_state() -> None:
    vad = PluginVad(offline_default("vad"), EngineThread("vad-test"))
    try:
        one, two = vad.new_detector(), vad.new_detector()
        audio = speech_16k()
        first = await one.probabilities(audio)
        await two.probabilities(audio[:FRAME_BYTES * 20])  # another stream, midway: it does not disturb one
        again = await two.probabilities(audio[FRAME_BYTES * 20:])
        assert one._plugin.detector.session is two._plugin.detector.session
        assert np.allclose(first[20:], again, atol=1e-5)
    finally:
        vad.close()
