"""piper's phonemes from libespeak-ng in-process: the same as the espeak-ng program's, character for character,
and the loaded synthesizer uses them."""

from __future__ import annotations

import pytest
from ovos_tts_plugin_piper.espeak_wrapper import EspeakPhonemizer

from ovos_realtime_plugin.engines.choice import speech_choices
from ovos_realtime_plugin.engines.espeak_phonemes import LibEspeak, fgets_pieces, phonemize_in_process
from ovos_realtime_plugin.engines.speech import shipped_config
from ovos_realtime_plugin.engines.stt import PluginTranscriber
from ovos_realtime_plugin.engines.tts import PluginSynthesizer
from tests.voice_helpers import words

SENTENCES = [
    ("It's ten forty eight", "en-us"), ("Dr Smith lives at 221B Baker St", "en-us"),
    ("I have 3 apples and 2.5 oranges", "en-us"), ("naïve café résumé", "en-us"),
    ("[[h@l'oU]] there", "en-us"), ("It's 10:48 PM.", "en-us"), ("Hello, world. How are you?", "en-us"),
    ("Guten Tag, wie geht es Ihnen", "de"), ("Buenos días señor", "es"), ("Bonjour tout le monde", "fr"),
    ("a\nb c", "en-us"), ("a\n\nb\n", "en-us"), ("\n", "en-us"), ("", "en-us"),
    ("one two three four five six seven eight nine ten " * 25, "en-us"),  # > 999 bytes: read in pieces
    ("héllo " * 200, "en-us"),
]


@pytest.fixture(scope="module")
def espeak() -> LibEspeak:
    return LibEspeak()


@pytest.mark.parametrize(("text", "voice"), SENTENCES)
def test_the_library_gives_what_the_program_prints(espeak: LibEspeak, text: str, voice: str) -> None:
    assert espeak.phonemes(text, voice) == EspeakPhonemizer().phonemize_string(text, voice)


def test_text_is_read_as_the_program_reads_a_pipe() -> None:
    assert fgets_pieces(b"ab\ncd\n\nef", size=999) == [b"ab\n", b"cd\n", b"\n", b"ef"]
    assert fgets_pieces(b"abcdefg\nh", size=3) == [b"abc", b"def", b"g\n", b"h"]
    assert fgets_pieces(b"") == []


def test_an_unknown_voice_is_an_error_and_the_next_call_works(espeak: LibEspeak) -> None:
    with pytest.raises(ValueError, match="no voice"):
        espeak.phonemes("hello", "xx-nowhere")
    assert espeak.phonemes("hello", "en-us") == EspeakPhonemizer().phonemize_string("hello", "en-us")


async def test_the_synthesizer_phonemizes_in_process_and_speaks() -> None:
    choices = speech_choices({}, shipped_config())
    assert choices.tts is not None and choices.stt is not None
    tts = PluginSynthesizer.load(choices.tts, "en-US", {})
    stt = PluginTranscriber.load(choices.stt, "en-US")
    try:
        (voice,) = type(tts.plugin).engines.values()
        assert type(voice.phonemizer) is not EspeakPhonemizer and isinstance(voice.phonemizer, EspeakPhonemizer)
        text = "Turn on the kitchen lights, then play some music."
        assert voice.phonemize(text) == EspeakPhonemizer().phonemize(text, "en-us")  # the same ids reach the model
        voice.phonemizer = EspeakPhonemizer()  # as a voice the plugin loads later comes
        pcm, rate = await tts.synthesize("What time is it?", None, 1.0, "en-US")
        assert type(voice.phonemizer) is not EspeakPhonemizer  # swapped before the sentence
        assert words(await stt.transcribe(pcm, rate, "en-US")) == ["what", "time", "is", "it"]
    finally:
        tts.close()
        stt.close()


def test_a_plugin_without_piper_voices_is_left_alone() -> None:
    class Other:
        engines = None

    phonemize_in_process(Other())  # nothing to swap, no error
