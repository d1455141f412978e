"""OvosAssistant against the real messagebus and real OVOS skills (see tests/fixtures_ovos.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import uuid
from typing import TYPE_CHECKING

import pytest

from ovos_realtime_plugin.bus import names
from ovos_realtime_plugin.bus.assistant import OvosAssistant, OvosAssistantSettings
from ovos_realtime_plugin.bus.client import BusConnection, BusMessage
from ovos_realtime_plugin.bus.dialogs import Dialogs
from ovos_realtime_plugin.bus.errors import BusDisconnectedError, BusUnavailableError, SkillsTimeoutError
from ovos_realtime_plugin.core.assistant import AssistantRequest, TextDelta
from ovos_realtime_plugin.core.items import Content, Item
from tests.fixtures_ovos import TIME_LIKE, drain, next_of_type, observe

if TYPE_CHECKING:
    from tests.fixtures_ovos import OvosStack

pytest_plugins = ["tests.fixtures_ovos"]


def request(text: str, session_id: str, language: str | None = None) -> AssistantRequest:
    item = Item(id=f"item_{uuid.uuid4().hex}", type="message", role="user",
                content=[Content(type="input_text", text=text)])
    return AssistantRequest(response_id=f"resp_{uuid.uuid4().hex}", items=(item,), instructions="", tools=(),
                            tool_choice="auto", output_modalities=("text",), max_output_tokens=None,
                            temperature=None, parallel_tool_calls=False, metadata=None, language=language,
                            voice="alloy", session_id=session_id)


def new_session_id() -> str:
    return f"sess_{uuid.uuid4().hex}"


async def answer(assistant: OvosAssistant, req: AssistantRequest) -> str:
    parts = [out.text async for out in assistant.respond(req) if isinstance(out, TextDelta)]
    return "".join(parts)


async def test_hello_world_is_answered_by_the_hello_world_skill(ovos_bus: BusConnection) -> None:
    assistant = OvosAssistant(ovos_bus)
    # hello-world speaks with wait=True: without our audio_output_start/end it would block 15 s
    reply = await asyncio.wait_for(answer(assistant, request("hello world", new_session_id())), 5.0)
    assert reply == "Hello world"


@pytest.mark.parametrize("language", [None, "en", "en-US"])
async def test_what_time_is_it_is_answered_by_the_date_time_skill(ovos_bus: BusConnection,
                                                                 language: str | None) -> None:
    assistant = OvosAssistant(ovos_bus)
    reply = await answer(assistant, request("what time is it", new_session_id(), language))
    assert TIME_LIKE.search(reply), reply


async def test_normal_phrasing_matches_below_padatious_high(ovos_bus: BusConnection) -> None:
    assistant = OvosAssistant(ovos_bus)
    reply = await answer(assistant, request("what is the date today", new_session_id()))
    assert reply not in Dialogs("unknown").variants("en-US")
    assert re.search(r"monday|tuesday|wednesday|thursday|friday|saturday|sunday", reply, re.IGNORECASE), reply


async def test_no_match_says_a_line_of_the_unknown_dialog(ovos_bus: BusConnection) -> None:
    assistant = OvosAssistant(ovos_bus)
    reply = await answer(assistant, request("blorp the fizzle wobbles", new_session_id()))
    assert reply in Dialogs("unknown").variants("en-US")


async def test_no_user_message_gives_an_empty_reply(ovos_bus: BusConnection) -> None:
    assistant = OvosAssistant(ovos_bus)
    req = dataclasses.replace(request("hello world", new_session_id()), items=())
    assert await answer(assistant, req) == ""


async def test_two_sessions_at_once_do_not_cross_talk(ovos_bus: BusConnection) -> None:
    a, b = OvosAssistant(ovos_bus), OvosAssistant(ovos_bus)
    sid_a, sid_b = new_session_id(), new_session_id()
    for _ in range(3):
        reply_a, reply_b = await asyncio.gather(answer(a, request("hello world", sid_a)),
                                                answer(b, request("what time is it", sid_b)))
        assert reply_a == "Hello world"
        assert TIME_LIKE.search(reply_b) and "hello" not in reply_b.lower(), reply_b
    assert a.session is not None and b.session is not None
    assert a.session.session_id != b.session.session_id
    assert "default" not in (a.session.session_id, b.session.session_id)


async def test_a_held_session_does_not_block_another(ovos_stack: OvosStack, ovos_bus: BusConnection) -> None:
    held, free = OvosAssistant(ovos_bus), OvosAssistant(ovos_bus)
    counting = held.respond(request("count slowly", new_session_id()))
    assert await anext(counting) == TextDelta("one", utterance_end=True)
    assert await answer(free, request("hello world", new_session_id())) == "Hello world"
    await counting.aclose()


@pytest.mark.parametrize("how", ["aclose", "task.cancel"])
async def test_cancelling_a_response_stops_the_skill_in_that_session(ovos_stack: OvosStack,
                                                                     ovos_bus: BusConnection, how: str) -> None:
    sid = new_session_id()
    assistant = OvosAssistant(ovos_bus, session_id=sid)
    bystander = OvosAssistant(ovos_bus, session_id=new_session_id())
    assert assistant.session is not None and bystander.session is not None
    observer, seen = await observe(ovos_stack.port, assistant.session.session_id)
    bystander_seen: asyncio.Queue[BusMessage] = asyncio.Queue()
    observer.subscribe(bystander.session.session_id, bystander_seen.put_nowait)
    try:
        turn = assistant.respond(request("count slowly", sid))
        if how == "aclose":
            assert await anext(turn) == TextDelta("one", utterance_end=True)
            await turn.aclose()
        else:
            first = asyncio.Event()

            async def consume() -> None:
                async for _ in turn:
                    first.set()

            task = asyncio.create_task(consume())
            await asyncio.wait_for(first.wait(), 10.0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        stop = await next_of_type(seen, names.STOP)
        assert stop.session_id == assistant.session.session_id
        # the skill let go at once (it would hold its handler 10 s) and never said "two"
        await next_of_type(seen, names.UTTERANCE_HANDLED, timeout=5.0)
        said = [m.data.get("utterance") for m in drain(seen) if names.is_speak(m.type)]
        assert "two" not in said
        assert all(m.type != names.STOP for m in drain(bystander_seen))
    finally:
        await observer.close()


async def test_a_skill_that_asks_gets_the_next_turn(ovos_bus: BusConnection) -> None:
    sid = new_session_id()
    assistant = OvosAssistant(ovos_bus, session_id=sid)
    assert assistant.session is not None
    assert names.STAGE_CONVERSE not in assistant.session.pipeline_for_turn()
    question = await answer(assistant, request("ask me my favourite colour", sid))
    assert question == "What is your favourite colour?"
    assert names.STAGE_CONVERSE in assistant.session.pipeline_for_turn()
    # "blue" matches no intent: only converse can route it back to the asking skill
    reply = await answer(assistant, request("blue", sid))
    assert reply.lower() == "blue is a lovely colour."
    assert names.STAGE_CONVERSE not in assistant.session.pipeline_for_turn()
    assert await answer(assistant, request("hello world", sid)) == "Hello world"


async def test_a_turn_without_an_end_times_out_and_stops_the_skill(ovos_stack: OvosStack,
                                                                   ovos_bus: BusConnection) -> None:
    sid = new_session_id()
    assistant = OvosAssistant(ovos_bus, OvosAssistantSettings(turn_timeout_s=1.0), session_id=sid)
    assert assistant.session is not None
    observer, seen = await observe(ovos_stack.port, assistant.session.session_id)
    try:
        with pytest.raises(SkillsTimeoutError, match="within 1 s"):
            await answer(assistant, request("count slowly", sid))
        await next_of_type(seen, names.STOP)
    finally:
        await observer.close()


async def test_the_bus_dropping_fails_the_turn_in_flight_and_a_later_turn_works(ovos_stack: OvosStack,
                                                                                ovos_bus: BusConnection) -> None:
    sid = new_session_id()
    assistant = OvosAssistant(ovos_bus, session_id=sid)
    turn = assistant.respond(request("count slowly", sid))
    assert await anext(turn) == TextDelta("one", utterance_end=True)
    await asyncio.to_thread(ovos_stack.stop_bus)
    try:
        with pytest.raises(BusDisconnectedError, match="connection lost"):
            await asyncio.wait_for(anext(turn), 5.0)
        with pytest.raises(BusUnavailableError):  # while down: fails at once, does not hang
            await answer(assistant, request("hello world", sid))
    finally:
        await asyncio.to_thread(ovos_stack.start_bus)
    await ovos_bus.wait_connected(10.0)
    await ovos_stack.skills.wait_ready(60.0)  # ovos-bus-client in the skills service retries after 5 s
    assert await answer(assistant, request("hello world", sid)) == "Hello world"
