"""A sentence is made once for everyone who asks for it (engines/spoken.py), on the real piper engine: listeners
at once share one synthesis piece by piece, a finished one is heard again without the engine, a failure reaches
every listener and is not kept, the store stays within its bytes, and a sentence no one listens to any more stops
being made."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from ovos_realtime_plugin.engines.speech import LoadedSpeech
from ovos_realtime_plugin.engines.spoken import SpokenSentences
from ovos_realtime_plugin.engines.tts import PluginSynthesizer
from tests.fixtures_speech import BROKEN_VOICE

LONG = "The quick brown fox jumps over the lazy dog, and then it runs all the way back home again."
SHORT = "It is twenty past eight."


class Counted:
    """The real engine, counting the sentences it is asked to make and the pieces it hands over."""

    def __init__(self, engine: PluginSynthesizer) -> None:
        self.engine = engine
        self.calls: list[str] = []
        self.pieces = 0

    async def synthesize(self, text: str, voice: str | None, speed: float, lang: str) -> tuple[bytes, int]:
        self.calls.append(text)
        return await self.engine.synthesize(text, voice, speed, lang)

    async def stream(self, text: str, voice: str | None, speed: float, lang: str,
                     on_audio: Callable[[bytes, int], bool]) -> None:
        self.calls.append(text)

        def counted(pcm: bytes, rate: int) -> bool:
            self.pieces += 1
            return on_audio(pcm, rate)

        await self.engine.stream(text, voice, speed, lang, counted)


@pytest.fixture
def engine(speech: LoadedSpeech) -> Counted:
    assert isinstance(speech.tts, PluginSynthesizer)
    return Counted(speech.tts)


def heard(into: list[tuple[bytes, int]], stop_after: int | None = None) -> Callable[[bytes, int], bool]:
    def on_audio(pcm: bytes, rate: int) -> bool:
        into.append((pcm, rate))
        return stop_after is None or len(into) < stop_after
    return on_audio


async def test_listeners_at_once_share_one_synthesis_piece_by_piece(engine: Counted) -> None:
    spoken = SpokenSentences(engine, 16 << 20)
    first: list[tuple[bytes, int]] = []
    second: list[tuple[bytes, int]] = []
    await asyncio.gather(spoken.stream(LONG, None, 1.0, "en-us", heard(first)),
                         spoken.stream(LONG, None, 1.0, "en-us", heard(second)))
    assert engine.calls == [LONG] and spoken.made == 1
    assert len(first) > 1 and first == second  # the same pieces, each handed over as it was made
    assert len(first) == engine.pieces


async def test_a_finished_sentence_is_heard_again_without_the_engine(engine: Counted) -> None:
    spoken = SpokenSentences(engine, 16 << 20)
    made = await spoken.synthesize(SHORT, None, 1.0, "en-us")
    again = await spoken.synthesize(SHORT, None, 1.0, "en-us")
    faster = await spoken.synthesize(SHORT, None, 1.2, "en-us")  # sounds different: made afresh
    assert again == made and len(made[0]) > 0
    assert engine.calls == [SHORT, SHORT] and len(faster[0]) < len(made[0])


async def test_a_failure_reaches_every_listener_and_is_not_kept(engine: Counted) -> None:
    spoken = SpokenSentences(engine, 16 << 20)
    outcomes = await asyncio.gather(spoken.synthesize(SHORT, BROKEN_VOICE, 1.0, "en-us"),
                                    spoken.synthesize(SHORT, BROKEN_VOICE, 1.0, "en-us"), return_exceptions=True)
    assert all(isinstance(outcome, FileNotFoundError) for outcome in outcomes), outcomes  # piper: no such voice
    assert engine.calls == [SHORT]
    with pytest.raises(FileNotFoundError):
        await spoken.synthesize(SHORT, BROKEN_VOICE, 1.0, "en-us")
    assert engine.calls == [SHORT, SHORT]  # asked again: a failure is never heard from the store


async def test_the_store_keeps_within_its_bytes_dropping_the_least_recently_heard(engine: Counted) -> None:
    probe = SpokenSentences(engine, 16 << 20)
    size = len((await probe.synthesize(SHORT, None, 1.0, "en-us"))[0])
    spoken = SpokenSentences(engine, size * 2 + size // 2)  # room for two such sentences
    engine.calls.clear()
    for text in (SHORT, "It is twenty past nine.", SHORT, "It is twenty past ten."):
        await spoken.synthesize(text, None, 1.0, "en-us")
    assert engine.calls == [SHORT, "It is twenty past nine.", "It is twenty past ten."]
    await spoken.synthesize(SHORT, None, 1.0, "en-us")  # heard most recently before the third: kept
    await spoken.synthesize("It is twenty past nine.", None, 1.0, "en-us")  # the one dropped
    assert engine.calls[3:] == ["It is twenty past nine."]
    tiny = SpokenSentences(engine, size // 2)  # a sentence larger than the store is never kept
    await tiny.synthesize(SHORT, None, 1.0, "en-us")
    await tiny.synthesize(SHORT, None, 1.0, "en-us")
    assert engine.calls[4:] == [SHORT, SHORT]


async def test_a_sentence_no_one_listens_to_stops_and_is_made_afresh(engine: Counted) -> None:
    spoken = SpokenSentences(engine, 16 << 20)
    cut: list[tuple[bytes, int]] = []
    await spoken.stream(LONG, None, 1.0, "en-us", heard(cut, stop_after=1))
    assert len(cut) == 1 and engine.pieces == 1  # the engine was told to stop at the piece that stopped its listener
    whole: list[tuple[bytes, int]] = []
    await spoken.stream(LONG, None, 1.0, "en-us", heard(whole))
    assert engine.calls == [LONG, LONG]  # the stopped one was not kept
    assert len(whole) == engine.pieces - 1 > 1


async def test_one_listener_leaving_does_not_cut_another(engine: Counted) -> None:
    spoken = SpokenSentences(engine, 16 << 20)
    leaves: list[tuple[bytes, int]] = []
    stays: list[tuple[bytes, int]] = []
    await asyncio.gather(spoken.stream(LONG, None, 1.0, "en-us", heard(leaves, stop_after=1)),
                         spoken.stream(LONG, None, 1.0, "en-us", heard(stays)))
    assert len(leaves) == 1 and len(stays) == engine.pieces > 1
    assert engine.calls == [LONG]
    again: list[tuple[bytes, int]] = []
    await spoken.stream(LONG, None, 1.0, "en-us", heard(again))
    assert again == stays and engine.calls == [LONG]  # made whole for the one who stayed, so kept
