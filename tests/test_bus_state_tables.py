"""The OVOS side's state tables (bus/states.py): every row walked, every missing row refused, and the real
:class:`Turn` moved through its table by the real bus and skills (tests/fixtures_ovos.py)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import AsyncGenerator, Mapping
from enum import Enum
from typing import Any

import pytest

from ovos_realtime_plugin.bus import names
from ovos_realtime_plugin.bus.anticipation import Anticipation
from ovos_realtime_plugin.bus.assistant_settings import OvosAssistantSettings
from ovos_realtime_plugin.bus.client import BusConnection
from ovos_realtime_plugin.bus.fallback import FallbackSkill, answer_as_fallback_skill
from ovos_realtime_plugin.bus.function_tools import FunctionExamples
from ovos_realtime_plugin.bus.session_link import SessionLink
from ovos_realtime_plugin.bus.states import (
    SKILLS_TABLE,
    TURN_TABLE,
    SkillsState,
    SkillsTrigger,
    TurnState,
    TurnTrigger,
)
from ovos_realtime_plugin.bus.turns import Turn
from ovos_realtime_plugin.core.assistant import AssistantOutput, TextDelta
from ovos_realtime_plugin.core.effects import Anticipate
from ovos_realtime_plugin.core.states import IllegalMove, Machine
from tests.fixtures_ovos import OvosStack, next_of_type, observe

pytest_plugins = ["tests.fixtures_ovos"]

TABLES: dict[str, tuple[Mapping[tuple[Any, Any], Any], type[Enum], type[Enum]]] = {
    "turn": (TURN_TABLE, TurnState, TurnTrigger),
    "skills": (SKILLS_TABLE, SkillsState, SkillsTrigger),
}


@pytest.mark.parametrize("name", TABLES)
def test_every_row_of_the_table_moves_the_machine(name: str) -> None:
    table, _, _ = TABLES[name]
    for (state, trigger), after in table.items():
        machine: Machine[Any, Any] = Machine(table, state)
        assert machine.fire(trigger) is after and machine.state is after


@pytest.mark.parametrize("name", TABLES)
def test_every_pair_without_a_row_is_an_illegal_move(name: str) -> None:
    table, states, triggers = TABLES[name]
    missing = [pair for pair in itertools.product(states, triggers) if pair not in table]
    assert missing  # a table with a row for everything could never refuse
    for state, trigger in missing:
        machine: Machine[Any, Any] = Machine(table, state)
        with pytest.raises(IllegalMove):
            machine.fire(trigger)
        assert machine.state is state


@pytest.mark.parametrize("name", TABLES)
def test_every_state_is_in_the_table(name: str) -> None:
    table, states, triggers = TABLES[name]
    named = {state for state, _ in table} | set(table.values())
    assert named == set(states)
    assert {trigger for _, trigger in table} == set(triggers)


def test_a_settled_turn_refuses_every_trigger() -> None:
    for state in (TurnState.ANSWERED, TurnState.ASKED, TurnState.UNMATCHED, TurnState.HANDED, TurnState.STOPPED,
                  TurnState.DROPPED):
        turn = Turn("resp_settled", state)
        for trigger in TurnTrigger:
            with pytest.raises(IllegalMove):
                turn.fire(trigger)
        assert turn.state is state and not turn.following


def test_the_bus_says_skills_are_down_only_while_the_supervisor_has_them_down() -> None:
    bus = BusConnection(port=1)  # never connected: the availability is the bus object's own
    availability = bus.skills_availability
    assert bus.skills_down is None
    availability.fire(SkillsTrigger.EXITED, "the OVOS skills service exited (status 9)")
    assert bus.skills_down == "the OVOS skills service exited (status 9)"
    availability.fire(SkillsTrigger.RESTART)
    availability.fire(SkillsTrigger.START_FAILED)
    availability.fire(SkillsTrigger.RESTART)
    assert availability.state is SkillsState.RESTARTING
    assert bus.skills_down == "the OVOS skills service exited (status 9)"
    availability.fire(SkillsTrigger.READY)
    assert bus.skills_down is None
    with pytest.raises(IllegalMove):
        availability.fire(SkillsTrigger.READY)
    with pytest.raises(AttributeError):
        bus.skills_down = None  # type: ignore[misc]  # read-only: only the supervisor moves it


# -- the real Turn on the real bus -------------------------------------------------------------------------------
def new_link(bus: BusConnection, settings: OvosAssistantSettings | None = None) -> tuple[SessionLink, str]:
    """A connection's link to its own OVOS session, and the Realtime session id it is for."""
    sid = f"sess_{uuid.uuid4().hex}"
    link = SessionLink(bus, settings or OvosAssistantSettings(), None, None)
    link.ensure(sid)
    return link, sid


async def read_turn(link: SessionLink, turn: Turn, text: str | None) -> AsyncGenerator[tuple[str, TurnState], None]:
    """Send ``text`` in ``turn`` (``None``: its words are on the bus already) and read its messages as a response
    does: each message's type and the turn's state after it; at the end, ``""`` and the final state."""
    session = link.session
    assert session is not None
    with link.open_turn(turn):
        if text is not None:
            link.bus.emit(names.UTTERANCE, {"utterances": [text], "lang": "en-US"},
                          link.context(turn.id, session.for_turn(None)))
        async with contextlib.aclosing(link.messages(turn)) as messages:
            async for msg in messages:
                if names.is_speak(msg.type):
                    link.heard_speak(turn, msg)
                yield msg.type, turn.state
        link.turn_ended(turn, session)
    yield "", turn.state


async def follow(link: SessionLink, turn: Turn, text: str | None) -> list[TurnState]:
    """The states ``turn`` moved through, in order, read to its end."""
    seen = [turn.state]
    async for _, state in read_turn(link, turn, text):
        if state is not seen[-1]:
            seen.append(state)
    return seen


async def test_a_turn_the_skills_answer_ends_answered(ovos_bus: BusConnection) -> None:
    link, _ = new_link(ovos_bus)
    try:
        assert await follow(link, Turn("resp_hello"), "hello world") == [TurnState.RUNNING, TurnState.ANSWERED]
    finally:
        link.close()


async def test_a_turn_no_intent_matches_ends_unmatched(ovos_bus: BusConnection) -> None:
    link, _ = new_link(ovos_bus)
    try:
        states = await follow(link, Turn("resp_blorp"), "blorp the fizzle wobbles")
        assert states == [TurnState.RUNNING, TurnState.NO_MATCH, TurnState.UNMATCHED]
    finally:
        link.close()


async def test_a_question_ends_asked_and_its_answer_ends_answered(ovos_bus: BusConnection) -> None:
    link, _ = new_link(ovos_bus)
    try:
        states = await follow(link, Turn("resp_ask"), "ask me my favourite colour")
        assert states == [TurnState.RUNNING, TurnState.QUESTION, TurnState.ASKED]
        assert link.session is not None and link.session.expecting_answer
        assert await follow(link, Turn("resp_blue"), "blue") == [TurnState.RUNNING, TurnState.ANSWERED]
        assert not link.session.expecting_answer
    finally:
        link.close()


async def test_a_turn_left_while_its_skill_runs_is_stopped(ovos_stack: OvosStack, ovos_bus: BusConnection) -> None:
    link, _ = new_link(ovos_bus)
    assert link.session is not None
    observer, seen = await observe(ovos_stack.port, link.session.session_id)
    turn = Turn("resp_count")
    try:
        reading = read_turn(link, turn, "count slowly")
        async for kind, state in reading:  # the skill says "one", then holds its handler
            assert state is TurnState.RUNNING
            if names.is_speak(kind):
                break
        await reading.aclose()  # as the session closes a response it cancels
        assert turn.state is TurnState.STOPPED
        stop = await next_of_type(seen, names.STOP)
        assert stop.context.get("ovos_realtime_response_id") == "resp_count"
    finally:
        link.close()
        await observer.close()


async def test_a_turn_ovos_hands_to_our_fallback_skill_ends_handed(ovos_stack: OvosStack,
                                                                  ovos_bus: BusConnection) -> None:
    skill_id = f"ovos-realtime-states-{uuid.uuid4().hex[:8]}.fallback"
    link, _ = new_link(ovos_bus, OvosAssistantSettings(fallback_skill_id=skill_id))
    assert link.session is not None
    ours = link.session.session_id
    fallback = FallbackSkill(ovos_bus, skill_id, lambda session_id: session_id == ours)
    registered = asyncio.Event()
    sub = ovos_bus.subscribe_type(names.FALLBACK_REGISTER,
                                  lambda msg: registered.set() if msg.data.get("skill_id") == skill_id else None)
    fallback.start()
    observer, seen = await observe(ovos_stack.port, ours)
    turn = Turn("resp_penguins")
    try:
        await asyncio.wait_for(registered.wait(), 10.0)
        with link.open_turn(turn):
            link.bus.emit(names.UTTERANCE, {"utterances": ["can penguins fly"], "lang": "en-US"},
                          link.context(turn.id, link.session.for_turn(None)))
            async with contextlib.aclosing(link.messages(turn)) as messages:
                async for msg in messages:
                    if msg.type == names.fallback_request(skill_id):
                        turn.hand_over(msg)
                        break
            assert turn.state is TurnState.HANDED and turn.handoff is not None and not turn.following

            async def llm() -> AsyncGenerator[AssistantOutput, None]:
                yield TextDelta("They swim.")

            said = [out async for out in answer_as_fallback_skill(ovos_bus, skill_id, turn.handoff, llm())]
        assert said == [TextDelta("They swim.")]
        response = await next_of_type(seen, names.fallback_response(skill_id), timeout=10.0)
        assert response.data["result"] is True
        assert turn.state is TurnState.HANDED  # leaving the handed turn stops nothing
    finally:
        sub.cancel()
        fallback.close()
        link.close()
        await observer.close()


def paused_on(text: str, item_id: str) -> Anticipate:
    return Anticipate(text, item_id, None, "alloy", 1.0, True, (), "auto", "gpt-realtime")


async def test_an_early_answer_is_matched_prepared_taken_and_answered(ovos_bus: BusConnection) -> None:
    link, sid = new_link(ovos_bus)
    try:
        Anticipation(link, FunctionExamples()).anticipate(paused_on("what time is it", "item_1"), sid, None)
        early = link.early.current
        assert early is not None and early.turn.state is TurnState.MATCHING
        assert early.task is not None
        await early.task
        assert early.turn.state is TurnState.PREPARED
        turn = link.early.take("item_1", "what time is it", None)
        assert turn is early.turn and turn.state is TurnState.RUNNING
        assert await follow(link, turn, None) == [TurnState.RUNNING, TurnState.ANSWERED]
    finally:
        link.close()


async def test_an_early_answer_to_other_words_is_dropped(ovos_bus: BusConnection) -> None:
    link, sid = new_link(ovos_bus)
    try:
        Anticipation(link, FunctionExamples()).anticipate(paused_on("what time is it", "item_2"), sid, None)
        early = link.early.current
        assert early is not None and early.task is not None
        await early.task
        assert link.early.take("item_2", "what time is it in paris", None) is None
        assert early.turn.state is TurnState.DROPPED
    finally:
        link.close()
