"""Speech made ahead: the core names the sentences of an early answer to synthesize and the key the response's
``Synthesize`` of each will carry; the speech driver makes them, keeps them by that key and never cuts text itself.

The core is scripted event by event with VAD probabilities fed as the speech driver would; the driver runs the
real piper voice, counted.
"""

from __future__ import annotations

import ast
import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ovos_realtime_plugin.core.assistant import TextDelta
from ovos_realtime_plugin.core.effects import (
    CancelResponse,
    DropPreparedSpeech,
    Effect,
    PrepareSpeech,
    RunAssistant,
    Synthesize,
)
from ovos_realtime_plugin.engines.speech import LoadedSpeech
from ovos_realtime_plugin.engines.spoken import SpokenSentences
from ovos_realtime_plugin.server.speech_driver import SpeechDriver
from ovos_realtime_plugin.server.speech_engines import SpeechEngines, Synthesizer, WholeSentences
from tests.sdk_helpers import types, user_text
from tests.test_core_anticipate import audio_core, paused_on
from tests.test_core_sequences import Core
from tests.test_core_transcripts import VoiceCore, transcribes
from tests.test_early_answer_voice import CountingTTS
from tests.test_import_boundary import PACKAGE

T = TypeVar("T")
ANSWER = "It's ten past two. Anything else I can do for you?"


def answered_early(core: VoiceCore, answer: str = ANSWER) -> tuple[str, list[Effect]]:
    """The user pauses on a question whose answer the assistant finds at once: the turn's item, and what the
    core asks then."""
    (anticipate,) = paused_on("What time is it?", core)
    core.session.early_answer(anticipate.item_id, answer)
    return anticipate.item_id, core.effects()


def turn_ends(core: VoiceCore) -> tuple[str, list[Effect]]:
    """The silence window passes: the response to the turn starts. Its id, and the effects."""
    _, effects = core.hear((10, 0.1))
    (run,) = [e for e in effects if isinstance(e, RunAssistant)]
    return run.request.response_id, effects


def says(core: VoiceCore, rid: str, text: str) -> list[Effect]:
    """The response's assistant says ``text`` (a skill's whole ``speak``) and ends: the core's effects."""
    core.session.on_assistant_output(rid, TextDelta(text, utterance_end=True))
    core.session.on_assistant_end(rid)
    return core.effects()


def respond_to_something_else(core: Core) -> list[Effect]:
    """The client adds a message and asks for a response to it while the turn is paused: the core's effects."""
    core.send({"type": "conversation.item.create", "item": user_text("Tell me a joke.")})
    core.send({"type": "response.create"})
    return core.effects()


def of_type(kind: type[T], effects: list[Effect]) -> list[T]:
    return [e for e in effects if isinstance(e, kind)]


# -- the core ---------------------------------------------------------------------------------------
def test_the_early_answers_first_sentence_is_prepared_under_the_key_its_response_then_carries() -> None:
    core = audio_core()
    _, effects = answered_early(core)
    (prepare,) = of_type(PrepareSpeech, effects)
    assert [s.text for s in prepare.sentences] == ["It's ten past two."]
    assert (prepare.voice, prepare.speed) == ("verse", 1.2)
    rid, _ = turn_ends(core)
    first, second = of_type(Synthesize, says(core, rid, ANSWER))
    assert (first.text, first.prepared) == ("It's ten past two.", prepare.sentences[0].key)
    assert (first.voice, first.speed, first.language) == (prepare.voice, prepare.speed, prepare.language)
    assert second.prepared is None  # not made ahead: the response synthesizes it


def test_a_new_pause_drops_what_the_last_one_prepared() -> None:
    core = audio_core()
    _, effects = answered_early(core)
    (prepare,) = of_type(PrepareSpeech, effects)
    core.hear((10, 0.9))  # the user goes on, and pauses again
    _, effects = core.hear((2, 0.1))
    (early,) = transcribes(effects)
    core.session.on_transcript(early.item_id, "What time is it in Paris?", 1.0, attempt=2)
    effects = core.effects()
    assert [type(e).__name__ for e in effects] == ["DropPreparedSpeech", "Anticipate"]
    assert of_type(DropPreparedSpeech, effects)[0].keys == (prepare.sentences[0].key,)
    rid, _ = turn_ends(core)
    assert [s.prepared for s in of_type(Synthesize, says(core, rid, ANSWER))] == [None, None]


def test_a_response_to_something_else_drops_what_was_prepared_and_a_late_answer_prepares_nothing() -> None:
    core = audio_core()
    item_id, effects = answered_early(core)
    (prepare,) = of_type(PrepareSpeech, effects)
    effects = respond_to_something_else(core)
    assert of_type(DropPreparedSpeech, effects) == [DropPreparedSpeech((prepare.sentences[0].key,))]
    (run,) = of_type(RunAssistant, effects)
    assert [s.prepared for s in of_type(Synthesize, says(core, run.request.response_id, ANSWER))] == [None, None]
    core.session.early_answer(item_id, ANSWER)  # the skill spoke after all: nobody will hear it
    assert core.effects() == []


def test_a_response_that_says_something_else_drops_what_was_prepared() -> None:
    core = audio_core()
    _, effects = answered_early(core)
    (prepare,) = of_type(PrepareSpeech, effects)
    rid, _ = turn_ends(core)
    effects = says(core, rid, "Sorry, I did not catch that.")
    assert of_type(DropPreparedSpeech, effects) == [DropPreparedSpeech((prepare.sentences[0].key,))]
    assert [s.prepared for s in of_type(Synthesize, effects)] == [None]


def test_the_same_words_spoken_at_another_speed_are_not_the_prepared_sentence() -> None:
    core = audio_core()
    _, effects = answered_early(core)
    assert of_type(PrepareSpeech, effects)
    core.send({"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"speed": 1.0}}}})
    rid, _ = turn_ends(core)
    effects = says(core, rid, ANSWER)
    assert [s.prepared for s in of_type(Synthesize, effects)] == [None, None]
    assert of_type(DropPreparedSpeech, effects)


def test_an_early_answer_prepares_nothing_for_a_text_only_turn_or_a_turn_not_anticipated() -> None:
    core = VoiceCore()  # text out
    _, effects = answered_early(core)
    assert effects == []
    core = audio_core()
    paused_on("What time is it?", core)
    core.session.early_answer("item_other", ANSWER)
    assert core.effects() == []


# -- the speech driver ------------------------------------------------------------------------------
def test_the_speech_driver_never_cuts_text_into_sentences() -> None:
    """Outside the core no module imports the sentence splitter: what to say ahead, and how it is cut, is the
    core's to say."""
    users: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent == PACKAGE / "core":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import | ast.ImportFrom) else []
            module = node.module or "" if isinstance(node, ast.ImportFrom) else ""
            if module.endswith("core.sentences") or any(n.endswith("core.sentences") for n in names) or \
                    (module.endswith(".core") and "sentences" in names) or "SentenceSplitter" in names:
                users.append(str(path.relative_to(PACKAGE)))
    assert users == []
    assert "SentenceSplitter" not in Path(PACKAGE / "server" / "speech_driver.py").read_text()


class Driven:
    """A real speech driver carrying out a scripted core's speech effects; events are gathered as flushed."""

    def __init__(self, core: Core, tts: Synthesizer | None) -> None:
        self.core, self.events, self._flushed = core, list[dict[str, Any]](), asyncio.Event()
        self.driver = SpeechDriver(core.session, SpeechEngines(tts=tts), self._flush,
                                   logging.LoggerAdapter(logging.getLogger("test.speech")))

    def _flush(self) -> None:
        self.events += self.core.session.pop_events()
        self._flushed.set()

    def run(self, effects: list[Effect]) -> None:
        for effect in effects:  # the speech ones: no STT or VAD runs here
            if isinstance(effect, PrepareSpeech | DropPreparedSpeech | Synthesize):
                self.driver.execute(effect)

    async def until_done(self, count: int = 1) -> None:
        await self.until(lambda: types(self.events).count("response.done") >= count)

    async def until(self, happened: Callable[[], bool]) -> None:
        while not happened():
            self._flushed.clear()
            await asyncio.wait_for(self._flushed.wait(), 60)


@dataclass
class Prepared:
    """A scripted core with audio out whose speech a real speech driver carries out, its TTS calls counted."""

    core: VoiceCore
    driven: Driven
    tts: CountingTTS

    def answer_early(self) -> None:
        """The user pauses on a question the assistant answers at once: its speech is queued to be made ahead
        (and is not made before the test's next ``await``)."""
        _, effects = answered_early(self.core)
        self.driven.run(effects)


@pytest.fixture
async def prepared(speech: LoadedSpeech) -> AsyncIterator[Prepared]:
    assert speech.engines.tts is not None
    core, tts = audio_core(), CountingTTS(speech.engines.tts)
    driven = Driven(core, tts)
    try:
        yield Prepared(core, driven, tts)
    finally:
        driven.driver.close()


async def test_a_prepared_sentence_is_spoken_from_its_speech_made_ahead_not_synthesized_again(
        prepared: Prepared) -> None:
    core, driven = prepared.core, prepared.driven
    prepared.answer_early()
    rid, effects = turn_ends(core)
    driven.run(effects + says(core, rid, ANSWER))
    await driven.until_done()
    assert prepared.tts.texts == ["It's ten past two.", "Anything else I can do for you?"]  # each made once
    done = [e for e in driven.events if e["type"] == "response.done"][0]
    assert done["response"]["status"] == "completed"
    assert "response.output_audio.delta" in types(driven.events)


async def test_a_prepared_sentence_dropped_before_its_turn_comes_is_never_made(prepared: Prepared) -> None:
    prepared.answer_early()
    effects = respond_to_something_else(prepared.core)
    assert of_type(DropPreparedSpeech, effects)
    (run,) = of_type(RunAssistant, effects)
    prepared.driven.run(effects + says(prepared.core, run.request.response_id, "A joke, then."))
    await prepared.driven.until_done()
    assert prepared.tts.texts == ["A joke, then."]


def speaking(core: Core, driven: Driven, said: str) -> str:
    """A response to a new typed message, whose one sentence ``said`` is queued on the driver: its id."""
    core.item(user_text("Count for me."))
    rid = core.respond().request.response_id
    core.session.on_assistant_output(rid, TextDelta(said, utterance_end=True))
    driven.run(core.effects())
    return rid


async def test_a_cancelled_responses_id_is_let_go_once_its_sentences_have_passed() -> None:
    """The driver remembers a cancelled response only while sentences of it may still be queued."""
    core = Core("audio")
    driven = Driven(core, None)  # no TTS engine: each sentence ends at once, transcript only
    try:
        speaking(core, driven, "One two three four five.")
        core.send({"type": "response.cancel"})
        (cancel,) = core.effects()
        assert isinstance(cancel, CancelResponse)
        driven.driver.cancel(cancel.response_id)  # as the connection does
        rid = speaking(core, driven, "Six seven eight nine ten.")
        core.session.on_assistant_end(rid)
        driven.run(core.effects())
        await driven.until_done()
    finally:
        driven.driver.close()
    assert driven.driver._cancelled == set()  # the leak this guards against: one id per cancelled response


class HeldSentences(WholeSentences):
    """A TTS engine that makes a sentence's first piece at once and the rest when released; its calls counted."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.release = asyncio.Event()

    async def stream(self, text: str, voice: str | None, speed: float, lang: str,
                     on_audio: Callable[[bytes, int], bool]) -> None:
        self.calls.append(text)
        if on_audio(b"\x00\x10" * 2400, 24000):  # 100 ms
            await self.release.wait()
            on_audio(b"\x00\x10" * 2400, 24000)


async def test_a_response_hears_a_sentence_being_made_ahead_from_wherever_it_has_got_to() -> None:
    """With the sentence store in front of the engine (the default), a sentence prepared ahead is made off the
    connection's TTS lane: the response that speaks it joins the making and its first audio leaves before the
    sentence is finished, instead of waiting behind the whole of it. Still made once."""
    engine = HeldSentences()
    store = SpokenSentences(engine, 1 << 20)
    core = audio_core()
    driven = Driven(core, store)
    try:
        _, effects = answered_early(core)
        driven.run(effects)
        rid, effects = turn_ends(core)
        driven.run(effects + says(core, rid, ANSWER))
        await driven.until(lambda: "response.output_audio.delta" in types(driven.events))
        assert engine.calls == ["It's ten past two."] and not engine.release.is_set()  # the rest not yet made
        engine.release.set()
        await driven.until_done()
        assert engine.calls == ["It's ten past two.", "Anything else I can do for you?"]  # each made once
        done = [e for e in driven.events if e["type"] == "response.done"][0]
        assert done["response"]["status"] == "completed"
    finally:
        engine.release.set()
        driven.driver.close()
        store.close()
