"""Answers prepared while a pause is being confirmed (bus/early_answer.py), on the real bus with real skills."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

from ovos_realtime_plugin.bus import names
from ovos_realtime_plugin.bus.assistant import OvosAssistant, OvosAssistantSettings
from ovos_realtime_plugin.bus.client import BusConnection, BusMessage
from ovos_realtime_plugin.bus.dialogs import Dialogs
from ovos_realtime_plugin.bus.turns import TURN_KEY
from ovos_realtime_plugin.core.assistant import AssistantRequest, TextDelta
from ovos_realtime_plugin.core.effects import Anticipate
from tests.fixtures_ovos import TEST_SKILL_ID, TIME_LIKE, OvosStack, drain, next_of_type, observe
from tests.test_bus_assistant import answer, new_session_id, request

pytest_plugins = ["tests.fixtures_ovos"]

DATE_TIME = "ovos-skill-date-time.openvoiceos"
HELLO_WORLD = "ovos-skill-hello-world.openvoiceos"


def paused_on(text: str, item_id: str) -> Anticipate:
    return Anticipate(text, item_id, None, "alloy", 1.0, True, (), "auto", "gpt-realtime")


class Watched:
    """An assistant in its own session, a bus observer of that session, and what it asked to speak early."""

    def __init__(self, bus: BusConnection, settings: OvosAssistantSettings | None = None) -> None:
        self.sid = new_session_id()
        self.assistant = OvosAssistant(bus, settings, session_id=self.sid)
        self.spoken_early: asyncio.Queue[str] = asyncio.Queue()
        self.seen: asyncio.Queue[BusMessage] = asyncio.Queue()
        self.observer: BusConnection | None = None
        self.item_id = ""

    async def __aenter__(self) -> Watched:
        return self

    async def watch(self, port: int) -> Watched:
        assert self.assistant.session is not None
        self.observer, self.seen = await observe(port, self.assistant.session.session_id)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.assistant.close()
        if self.observer is not None:
            await self.observer.close()

    def anticipate(self, text: str) -> None:
        """The user paused on ``text`` in a new turn."""
        self.item_id = f"item_{uuid.uuid4().hex}"
        self.assistant.anticipate(paused_on(text, self.item_id), self.sid, self.spoken_early.put_nowait)

    def request(self, text: str) -> AssistantRequest:
        """The request of the response to that turn, ended with ``text``."""
        req = request(text, self.sid)
        return dataclasses.replace(req, items=(dataclasses.replace(req.items[0], id=self.item_id),))

    def utterances(self) -> list[BusMessage]:
        return [m for m in drain(self.seen) if m.type == names.UTTERANCE]


async def test_a_listed_skill_answers_before_the_turn_ends_and_the_response_takes_that_answer(
        ovos_stack: OvosStack, ovos_bus: BusConnection) -> None:
    async with await Watched(ovos_bus).watch(ovos_stack.port) as w:
        w.anticipate("what time is it")
        early = await asyncio.wait_for(w.spoken_early.get(), 10.0)  # said before any response exists
        assert TIME_LIKE.search(early), early
        assert await answer(w.assistant, w.request("what time is it")) == early
        assert len(w.utterances()) == 1  # the skill ran once: the response did not send the words again


async def test_a_skill_not_listed_never_runs_before_the_turn_ends(ovos_stack: OvosStack,
                                                                  ovos_bus: BusConnection) -> None:
    settings = OvosAssistantSettings(early_answer_skills=frozenset({DATE_TIME}))
    async with await Watched(ovos_bus, settings).watch(ovos_stack.port) as w:
        w.anticipate("hello world")
        match = await next_of_type(w.seen, names.INTENT_GET_REPLY)  # OVOS only said who would answer
        assert match.data["intent"]["skill_id"] == HELLO_WORLD
        rid = (req := w.request("hello world")).response_id
        assert await answer(w.assistant, req) == "Hello world"
        assert w.spoken_early.empty()
        assert [m.context[TURN_KEY] for m in w.utterances()] == [rid]  # sent by the response, once


async def test_the_default_list_names_the_installed_answering_skills(ovos_bus: BusConnection) -> None:
    async with Watched(ovos_bus) as w:
        w.anticipate("hello world")
        assert await asyncio.wait_for(w.spoken_early.get(), 10.0) == "Hello world"
    assert OvosAssistantSettings().early_answer_skills == {DATE_TIME, HELLO_WORLD}


async def test_other_words_at_the_end_of_the_turn_get_their_own_answer(ovos_bus: BusConnection) -> None:
    async with Watched(ovos_bus) as w:
        w.anticipate("what time is it")
        await asyncio.wait_for(w.spoken_early.get(), 10.0)
        assert await answer(w.assistant, w.request("hello world")) == "Hello world"


async def test_words_no_skill_matches_prepare_nothing(ovos_stack: OvosStack, ovos_bus: BusConnection) -> None:
    async with await Watched(ovos_bus).watch(ovos_stack.port) as w:
        w.anticipate("blorp the fizzle wobbles")
        assert (await next_of_type(w.seen, names.INTENT_GET_REPLY)).data["intent"] is None
        assert await answer(w.assistant, w.request("blorp the fizzle wobbles")) in \
            Dialogs("unknown").variants("en-US")
        assert len(w.utterances()) == 1 and w.spoken_early.empty()


async def test_only_the_first_speak_is_synthesized_early_and_every_speak_reaches_the_response(
        ovos_bus: BusConnection) -> None:
    settings = OvosAssistantSettings(early_answer_skills=frozenset({TEST_SKILL_ID}))
    async with Watched(ovos_bus, settings) as w:
        w.anticipate("list the primary colours")
        assert await asyncio.wait_for(w.spoken_early.get(), 10.0) == "Red."
        assert await answer(w.assistant, w.request("list the primary colours")) == "Red. Yellow. Blue."
        assert w.spoken_early.empty()


async def test_cancelling_the_response_that_took_a_prepared_turn_stops_its_skill(
        ovos_stack: OvosStack, ovos_bus: BusConnection) -> None:
    settings = OvosAssistantSettings(early_answer_skills=frozenset({TEST_SKILL_ID}))
    async with await Watched(ovos_bus, settings).watch(ovos_stack.port) as w:
        w.anticipate("count slowly")
        assert await asyncio.wait_for(w.spoken_early.get(), 10.0) == "one"
        turn = w.assistant.respond(w.request("count slowly"))
        assert await anext(turn) == TextDelta("one", utterance_end=True)
        await turn.aclose()
        await next_of_type(w.seen, names.STOP)
        await next_of_type(w.seen, names.UTTERANCE_HANDLED, timeout=5.0)  # released at once, not after 10 s
        assert "two" not in [m.data.get("utterance") for m in drain(w.seen) if names.is_speak(m.type)]


async def test_a_skill_waiting_for_an_answer_gets_the_next_turn_unprepared(ovos_stack: OvosStack,
                                                                          ovos_bus: BusConnection) -> None:
    settings = OvosAssistantSettings(early_answer_skills=frozenset({TEST_SKILL_ID, HELLO_WORLD}))
    async with await Watched(ovos_bus, settings).watch(ovos_stack.port) as w:
        assert await answer(w.assistant, request("ask me my favourite colour", w.sid)) == \
            "What is your favourite colour?"
        w.anticipate("hello world")  # converse gives these words to the asking skill: nothing may run early
        assert (await answer(w.assistant, w.request("hello world"))).lower() == "hello world is a lovely colour."
        assert names.INTENT_GET not in [m.type for m in drain(w.seen)] and w.spoken_early.empty()


async def test_a_turn_that_ends_before_its_skill_is_known_is_answered_at_once_not_prepared(
        ovos_stack: OvosStack, ovos_bus: BusConnection) -> None:
    async with await Watched(ovos_bus).watch(ovos_stack.port) as w:
        w.anticipate("what time is it")  # and the turn ends at once: the intent service has not answered yet
        req = w.request("what time is it")
        reply = await answer(w.assistant, req)
        assert TIME_LIKE.search(reply), reply
        assert [m.context[TURN_KEY] for m in w.utterances()] == [req.response_id]  # the response's own, once


async def test_an_answer_prepared_for_another_turn_is_not_used_for_the_same_words(
        ovos_stack: OvosStack, ovos_bus: BusConnection) -> None:
    async with await Watched(ovos_bus).watch(ovos_stack.port) as w:
        w.anticipate("what time is it")
        await asyncio.wait_for(w.spoken_early.get(), 10.0)
        req = request("what time is it", w.sid)  # a later turn with the same words
        assert TIME_LIKE.search(await answer(w.assistant, req))
        assert [m.context[TURN_KEY] for m in w.utterances()][-1] == req.response_id


def test_the_answering_skills_come_from_the_realtime_section() -> None:
    from ovos_realtime_plugin.daemon_settings import daemon_settings

    assert daemon_settings({"realtime": {"early_answer_skills": [HELLO_WORLD]}}).assistant.early_answer_skills == \
        {HELLO_WORLD}
    assert daemon_settings({"realtime": {"early_answer_skills": []}}).assistant.early_answer_skills == set()
    assert daemon_settings({}).assistant.early_answer_skills == {DATE_TIME, HELLO_WORLD}
