"""The default STT, Whisper tiny.en on a window fitted to the utterance: found by name through OPM, loaded
from the PyPI package's model, and it hears real speech (espeak-ng) word for word, on both sides of its
fitted/30 s threshold; its features are Whisper's (checked against faster-whisper's extractor)."""

from __future__ import annotations

import numpy as np
import pytest

from ovos_realtime_plugin.audio.codec import decode_to_pcm16, encode_from_pcm16
from ovos_realtime_plugin.audio.resample import resample
from ovos_realtime_plugin.engines.stt import PluginTranscriber
from ovos_realtime_plugin.engines.whisper_features import log_mel
from ovos_realtime_plugin.engines.whisper_stt import (
    FULL_S,
    MIN_WINDOW_S,
    NARROWBAND_MIN_WINDOW_S,
    RETRY_WIDER_S,
    Decoded,
    FittedWhisper,
    narrowband,
    repeats_itself,
    window_s,
)
from tests.fixtures_speech import silence, spoken
from tests.voice_helpers import words

LONG = "remind me to call my mother at six this evening and to buy some bread on the way home from work"


@pytest.mark.parametrize("said", ["what time is it", "turn on the kitchen lights please",
                                  "play some relaxing music in the living room"])
async def test_short_commands_are_heard_word_for_word(whisper: PluginTranscriber, said: str) -> None:
    assert words(await whisper.transcribe(silence(200) + spoken(said) + silence(500), 24000, "en-US")) == \
        said.split()


async def test_a_long_utterance_is_heard_in_the_full_window(whisper: PluginTranscriber) -> None:
    audio = spoken(LONG, wpm=140)
    assert len(audio) / 48000 > 6  # past fitted_max_s
    heard = words(await whisper.transcribe(audio, 24000, "en-US"))
    assert heard[:6] == LONG.split()[:6] and heard[-3:] == LONG.split()[-3:]


async def test_silence_gives_no_words(whisper: PluginTranscriber) -> None:
    assert words(await whisper.transcribe(silence(1500), 24000, "en-US")) == []


def test_windows_fit_short_speech_and_long_speech_gets_thirty_seconds() -> None:
    assert window_s(1.6, 6) == MIN_WINDOW_S
    assert window_s(5.9, 6) == 11
    assert window_s(6.1, 6) == FULL_S
    assert window_s(2.0, 0) == FULL_S  # fitting turned off


@pytest.mark.parametrize("loops", [1, 2])
def test_a_decode_that_loops_is_tried_in_a_wider_window_before_thirty_seconds(whisper: PluginTranscriber,
                                                                              loops: int) -> None:
    """The fitted window's decode (and then the wider one's) is made to loop; the real decodes follow."""
    model: FittedWhisper = whisper.plugin.model
    real, windows = model._decode, list[int]()

    def looping(samples: np.ndarray, window: int, prompt: list[int], scores: bool) -> Decoded:
        windows.append(window)
        return Decoded("Tell me a joke " * 5, True) if len(windows) <= loops else real(samples, window, prompt,
                                                                                        scores)

    pcm = np.frombuffer(spoken("what time is it", rate=16000), "<i2").astype(np.float32) / 32768
    model._decode = looping  # type: ignore[method-assign]
    try:
        heard = model.transcribe(pcm, "en")
    finally:
        del model._decode
    assert windows == [MIN_WINDOW_S, MIN_WINDOW_S + RETRY_WIDER_S, FULL_S][:loops + 1]
    assert words(heard) == ["what", "time", "is", "it"]


def test_telephone_audio_is_told_from_wideband_and_heard_in_a_wider_window(whisper: PluginTranscriber) -> None:
    said = silence(300, 8000) + spoken("hello world", 8000) + silence(100, 8000)
    line = resample(decode_to_pcm16(encode_from_pcm16(said, "audio/pcmu"), "audio/pcmu"), 8000, 16000)
    wide = silence(300, 16000) + spoken("what time is it", 16000) + silence(100, 16000)
    as_floats = [np.frombuffer(pcm, "<i2").astype(np.float32) / 32768 for pcm in (line, wide)]
    assert [narrowband(samples) for samples in as_floats] == [True, False]
    assert not narrowband(np.zeros(1600, np.float32))
    model: FittedWhisper = whisper.plugin.model
    real, windows = model._decode, list[int]()

    def spied(samples: np.ndarray, window: int, prompt: list[int], scores: bool) -> Decoded:
        windows.append(window)
        return real(samples, window, prompt, scores)

    model._decode = spied  # type: ignore[method-assign]
    try:
        heard = [words(model.transcribe(samples, "en")) for samples in as_floats]
    finally:
        del model._decode
    assert windows == [NARROWBAND_MIN_WINDOW_S, MIN_WINDOW_S]
    assert heard == [["hello", "world"], ["what", "time", "is", "it"]]


def test_a_decoder_repeating_itself_is_told_from_a_command() -> None:
    assert repeats_itself("Tell me a joke " * 8)
    assert repeats_itself("Play some music. Play some music. Play some music. Play")
    assert not repeats_itself("Turn on the kitchen lights, please.")
    assert not repeats_itself("Play some music, and play it loud.")
    assert not repeats_itself("Stop.")


def test_features_match_faster_whispers_extractor() -> None:
    from faster_whisper.feature_extractor import FeatureExtractor  # type: ignore[import-untyped]

    pcm = np.frombuffer(spoken("what time is it", rate=16000), "<i2").astype(np.float32) / 32768
    padded = np.zeros(10 * 16000, np.float32)
    padded[:len(pcm)] = pcm
    ours, theirs = log_mel(padded), FeatureExtractor(feature_size=80)(padded)
    assert ours.shape == (80, 1000)
    assert float(np.abs(ours - theirs[:, :1000]).max()) < 0.02


@pytest.mark.parametrize("tail", [0, 1, 199, 200, 201, 399, 400, 401, 555, 1000, 8 * 16000])
def test_features_of_the_audio_and_the_silence_after_it_are_those_of_the_whole_window(tail: int) -> None:
    """The STFT runs only where the audio reaches; the silence after it is the whole window's to the last bit."""
    pcm = np.frombuffer(spoken("what time is it", rate=16000), "<i2").astype(np.float32) / 32768
    window = np.zeros(len(pcm) + tail, np.float32)
    window[:len(pcm)] = pcm
    whole, fitted = log_mel(window), log_mel(pcm, 80, len(window))
    assert fitted.shape == whole.shape == (80, len(window) // 160)
    assert float(np.abs(fitted - whole).max()) < 1e-6


def test_features_of_a_few_samples_in_a_window_are_those_of_the_whole_window() -> None:
    pcm = np.frombuffer(spoken("hi", rate=16000), "<i2").astype(np.float32)[2000:2100] / 32768  # 100 samples
    window = np.zeros(8 * 16000, np.float32)
    window[:len(pcm)] = pcm
    assert float(np.abs(log_mel(pcm, 80, len(window)) - log_mel(window)).max()) < 1e-6
