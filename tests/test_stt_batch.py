"""The default STT (Whisper tiny.en on fitted windows) hears the utterances of several sessions waiting at once in
one CTranslate2 call, and hears each exactly as it does alone: same words, same token scores (greedy decoding).
Real speech (espeak-ng); the engine is held busy while the transcriptions queue; CTranslate2's ``generate`` calls
are counted."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from ovos_realtime_plugin.core.stt import SttRequest, SttResult
from ovos_realtime_plugin.engines.stt import BatchedSTT, PluginTranscriber
from ovos_realtime_plugin.engines.stt_batch import MAX_BATCH
from ovos_realtime_plugin.engines.worker import EngineThread
from tests.fixtures_speech import silence, spoken

SAID = ["what time is it", "turn on the kitchen lights please", "play some relaxing music in the living room",
        "set a timer for ten minutes", "tell me a joke"]


class CountedWhisper:
    """CTranslate2's Whisper model, counting its ``generate`` calls and the batch each was given."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self.batches: list[int] = []

    def generate(self, features: Any, prompts: list[list[int]], **options: Any) -> Any:
        self.batches.append(len(prompts))
        return self._model.generate(features, prompts, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


class Held:
    """The default STT on an engine thread of the test's, which a call holds busy until released."""

    def __init__(self, whisper: PluginTranscriber) -> None:
        self.thread = EngineThread("stt-batch-test")
        self.stt = PluginTranscriber(whisper.plugin, whisper.module, self.thread)
        self.counted = CountedWhisper(whisper.plugin.model.model)
        self.release = threading.Event()
        self.started = threading.Event()

    def _hold(self) -> None:
        self.started.set()
        self.release.wait(30)

    async def together(self, asked: list[tuple[bytes, SttRequest]]) -> list[SttResult]:
        """Each heard while all of them wait behind the held engine."""
        busy = asyncio.ensure_future(self.thread.run(self._hold))
        await asyncio.to_thread(self.started.wait, 30)
        heard = [asyncio.ensure_future(self.stt.hear(audio, 24000, request)) for audio, request in asked]
        for _ in range(3):
            await asyncio.sleep(0)
        assert len(self.thread._waiting) == len(asked)
        self.release.set()
        await busy
        return await asyncio.gather(*heard)

    async def alone(self, asked: list[tuple[bytes, SttRequest]]) -> list[SttResult]:
        return [await self.stt.hear(audio, 24000, request) for audio, request in asked]


@pytest.fixture
def held(whisper: PluginTranscriber) -> Iterator[Held]:
    engine = Held(whisper)
    whisper.plugin.model.model = engine.counted
    yield engine
    whisper.plugin.model.model = engine.counted._model
    engine.release.set()
    engine.thread.close()


def utterance(said: str) -> bytes:
    return silence(200) + spoken(said) + silence(500)


async def test_utterances_waiting_together_are_heard_in_one_call_as_each_is_alone(held: Held) -> None:
    assert isinstance(held.stt.plugin, BatchedSTT)
    asked = [(utterance(said), SttRequest("en-US", logprobs=n % 2 == 0)) for n, said in enumerate(SAID[:4])]
    assert MAX_BATCH >= len(asked)
    alone = await held.alone(asked)
    assert held.counted.batches == [1] * len(asked)
    held.counted.batches.clear()
    assert await held.together(asked) == alone
    assert held.counted.batches == [len(asked)]
    assert [result.text for result in alone] == ["What time is it?", "Turn on the kitchen lights, please.",
                                                 "Play some relaxing music in the living room.",
                                                 "Set a timer for 10 minutes."]
    assert [result.logprobs is not None for result in alone] == [True, False, True, False]


async def test_utterances_with_hints_of_another_length_are_heard_in_a_call_of_their_own(held: Held) -> None:
    """CTranslate2 batches prompts whose start of transcript is at the same place: the same length of hint."""
    hinted = SttRequest("en-US", prompt="Kitchen lights, timers.")
    asked = [(utterance(said), SttRequest("en-US")) for said in SAID[:2]]
    asked += [(utterance(said), hinted) for said in SAID[2:4]]
    alone = await held.alone(asked)
    held.counted.batches.clear()
    assert await held.together(asked) == alone
    assert held.counted.batches == [2, 2]


async def test_an_utterance_taken_past_its_own_length_bound_in_a_batch_is_heard_again_alone(held: Held) -> None:
    """A batch decodes up to its longest utterance's length bound: a short one that alone would have been cut at
    its own (a fast count here) is heard again alone, and comes out as it does alone, cut."""
    fast = spoken("one two three four five six seven eight nine ten eleven twelve", wpm=450)
    asked = [(utterance(SAID[2]), SttRequest("en-US")), (fast, SttRequest("en-US"))]
    alone = await held.alone(asked)
    held.counted.batches.clear()
    assert await held.together(asked) == alone
    assert held.counted.batches == [2, 1]


async def test_silence_and_speech_heard_together_are_heard_as_alone(held: Held) -> None:
    asked = [(silence(1500), SttRequest("en-US")), (utterance(SAID[0]), SttRequest("en-US"))]
    assert [result.text for result in await held.together(asked)] == ["", "What time is it?"]


def test_a_failing_utterance_fails_alone(whisper: PluginTranscriber) -> None:
    from ovos_plugin_manager.utils.audio import AudioData  # type: ignore[import-untyped]

    from ovos_realtime_plugin.audio.resample import resample

    audio = [AudioData(resample(utterance(said), 24000, 16000), 16000, 2) for said in SAID[:2]]
    heard = whisper.plugin.execute_batch([(audio[0], SttRequest("en-US")), (b"not audio", SttRequest("en-US")),
                                         (audio[1], SttRequest("en-US"))])
    assert [result.text for result in heard if isinstance(result, SttResult)] == [
        "What time is it?", "Turn on the kitchen lights, please."]
    assert isinstance(heard[1], AttributeError)
