"""The official openai SDK through the real server, the real messagebus and real OVOS skills
(tests/fixtures_ovos_server.py): text turns answered by hello-world, date-time and the test skill."""

from __future__ import annotations

import asyncio
from typing import Any

from openai import AsyncOpenAI

from ovos_realtime_plugin.bus import names
from ovos_realtime_plugin.bus.dialogs import Dialogs
from ovos_realtime_plugin.bus.session import ovos_session_id
from tests.fixtures_ovos import TIME_LIKE, drain, next_of_type, observe
from tests.fixtures_ovos_server import OvosRealtime
from tests.fixtures_server import API_KEY
from tests.sdk_helpers import TEXT_FLOW, collect, squeeze, types, user_text
from tests.voice_helpers import response_failure

MODEL = "gpt-realtime"
BETA_MODEL = "gpt-4o-realtime-preview"


def client(realtime: OvosRealtime) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=API_KEY, base_url=realtime.http)


async def open_text_session(conn: Any) -> str:
    """Text-only output; the Realtime session id."""
    created = await collect(conn, "session.created")
    await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
    await collect(conn, "session.updated")
    session_id: str = created[-1]["session"]["id"]
    return session_id


async def send_turn(conn: Any, text: str) -> None:
    """A typed user message, then ``response.create``."""
    await conn.conversation.item.create(item=user_text(text))
    await collect(conn, "conversation.item.done")
    await conn.response.create()


def reply_text(events: list[dict[str, Any]], delta_type: str = "response.output_text.delta") -> str:
    return "".join(e["delta"] for e in events if e["type"] == delta_type)


async def ask(conn: Any, text: str) -> tuple[str, list[dict[str, Any]]]:
    """One turn: the reply text and the response's events (through ``response.done``)."""
    await send_turn(conn, text)
    events = await collect(conn, "response.done")
    return reply_text(events), events


def done_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    assert events[-1]["type"] == "response.done"
    response: dict[str, Any] = events[-1]["response"]
    return response


async def test_hello_world_is_answered_by_the_hello_world_skill(ovos_realtime: OvosRealtime) -> None:
    async with client(ovos_realtime).realtime.connect(model=MODEL) as conn:
        await open_text_session(conn)
        reply, events = await ask(conn, "hello world")
    assert reply == "Hello world"
    assert squeeze(types(events)) == TEXT_FLOW
    done = done_of(events)
    assert done["status"] == "completed"
    assert done["output"][0]["content"][0] == {"type": "output_text", "text": "Hello world"}


async def test_what_time_is_it_is_answered_by_the_date_time_skill(ovos_realtime: OvosRealtime) -> None:
    async with client(ovos_realtime).realtime.connect(model=MODEL) as conn:
        await open_text_session(conn)
        reply, events = await ask(conn, "what time is it")
    assert TIME_LIKE.search(reply), reply
    assert reply not in Dialogs("unknown").variants("en-US")
    assert done_of(events)["status"] == "completed"


async def test_several_speaks_stream_into_one_response(ovos_realtime: OvosRealtime) -> None:
    async with client(ovos_realtime).realtime.connect(model=MODEL) as conn:
        await open_text_session(conn)
        reply, events = await ask(conn, "list the primary colours")
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert deltas == ["Red.", " Yellow.", " Blue."]  # each speak streamed as it came
    done = done_of(events)
    assert done["status"] == "completed"
    assert len(done["output"]) == 1 and done["output"][0]["content"][0]["text"] == reply == "Red. Yellow. Blue."


async def test_a_skill_that_asks_gets_the_next_turn(ovos_realtime: OvosRealtime) -> None:
    async with client(ovos_realtime).realtime.connect(model=MODEL) as conn:
        await open_text_session(conn)
        question, _ = await ask(conn, "ask me my favourite colour")
        assert question == "What is your favourite colour?"
        # "blue" matches no intent: only the asking skill (through converse) can answer it
        answer, events = await ask(conn, "blue")
        assert answer.lower() == "blue is a lovely colour."
        assert done_of(events)["status"] == "completed"
        after, _ = await ask(conn, "hello world")
    assert after == "Hello world"


async def test_no_match_says_a_line_of_the_unknown_dialog(ovos_realtime: OvosRealtime) -> None:
    async with client(ovos_realtime).realtime.connect(model=MODEL) as conn:
        await open_text_session(conn)
        reply, events = await ask(conn, "blorp the fizzle wobbles")
    assert reply in Dialogs("unknown").variants("en-US")
    assert done_of(events)["status"] == "completed"


async def test_two_clients_at_once_hear_only_their_own_answers(ovos_realtime: OvosRealtime) -> None:
    sdk = client(ovos_realtime)
    async with sdk.realtime.connect(model=MODEL) as a, sdk.realtime.connect(model=MODEL) as b:
        sid_a, sid_b = await asyncio.gather(open_text_session(a), open_text_session(b))
        for _ in range(3):
            (reply_a, events_a), (reply_b, events_b) = await asyncio.gather(
                ask(a, "hello world"), ask(b, "what time is it"))
            assert reply_a == "Hello world"
            assert TIME_LIKE.search(reply_b) and "hello" not in reply_b.lower(), reply_b
            assert done_of(events_a)["status"] == done_of(events_b)["status"] == "completed"
    sessions = [ovos_realtime.assistants[sid].session for sid in (sid_a, sid_b)]
    assert sessions[0] is not None and sessions[1] is not None
    assert sessions[0].session_id != sessions[1].session_id
    assert "default" not in (sessions[0].session_id, sessions[1].session_id)


async def test_cancel_during_a_skill_answer_stops_the_skill_and_the_session_goes_on(
        ovos_realtime: OvosRealtime) -> None:
    async with client(ovos_realtime).realtime.connect(model=MODEL) as conn:
        sid = await open_text_session(conn)
        observer, seen = await observe(ovos_realtime.stack.port, ovos_session_id(sid))
        try:
            await send_turn(conn, "count slowly")  # says "one", then holds 10 s before "two"
            events = await collect(conn, "response.output_text.delta")
            assert events[-1]["delta"] == "one"
            await conn.response.cancel()
            events += await collect(conn, "response.done")
            assert done_of(events)["status"] == "cancelled"
            assert reply_text(events) == "one"
            await next_of_type(seen, names.STOP)
            await next_of_type(seen, names.UTTERANCE_HANDLED)  # within 5 s: the skill let go at once
            assert "two" not in [m.data.get("utterance") for m in drain(seen) if names.is_speak(m.type)]
            reply, events = await ask(conn, "hello world")
            assert reply == "Hello world" and done_of(events)["status"] == "completed"
        finally:
            await observer.close()


async def test_the_bus_restarting_fails_the_turn_in_flight_and_a_later_turn_works(
        ovos_realtime: OvosRealtime) -> None:
    stack = ovos_realtime.stack
    async with client(ovos_realtime).realtime.connect(model=MODEL) as conn:
        await open_text_session(conn)
        await send_turn(conn, "count slowly")
        assert (await collect(conn, "response.output_text.delta"))[-1]["delta"] == "one"
        await asyncio.to_thread(stack.stop_bus)
        try:
            error = response_failure(await collect(conn, "response.done"))  # inside response.done, as OpenAI
            assert error["type"] == "server_error" and "connection lost" in error["message"]
            # while the bus is down a turn fails at once instead of hanging
            reply, events = await ask(conn, "hello world")
            assert reply == "" and response_failure(events)["type"] == "server_error"
        finally:
            await asyncio.to_thread(stack.start_bus)
        await ovos_realtime.bus.wait_connected(10.0)
        await stack.skills.wait_ready(60.0)  # ovos-bus-client in the skills service retries after 5 s
        reply, events = await ask(conn, "hello world")
    assert reply == "Hello world" and done_of(events)["status"] == "completed"


async def test_a_connection_closed_mid_answer_stops_the_skill_and_closes_its_assistant(
        ovos_realtime: OvosRealtime) -> None:
    async with client(ovos_realtime).realtime.connect(model=MODEL) as conn:
        sid = await open_text_session(conn)
        ovos_sid = ovos_session_id(sid)
        observer, seen = await observe(ovos_realtime.stack.port, ovos_sid)
        await send_turn(conn, "count slowly")
        assert (await collect(conn, "response.output_text.delta"))[-1]["delta"] == "one"
        assert ovos_sid in ovos_realtime.bus.session_ids
    try:  # the client is gone mid-answer
        await asyncio.wait_for(ovos_realtime.closed[sid].wait(), 10.0)
        assert ovos_sid not in ovos_realtime.bus.session_ids  # no longer followed on the shared bus
        await next_of_type(seen, names.STOP)
        await next_of_type(seen, names.UTTERANCE_HANDLED)
    finally:
        await observer.close()


async def test_a_beta_client_is_answered_by_the_skills(ovos_realtime: OvosRealtime) -> None:
    sdk = AsyncOpenAI(api_key=API_KEY, websocket_base_url=ovos_realtime.url)
    async with sdk.beta.realtime.connect(model=BETA_MODEL) as conn:
        await collect(conn, "session.created", beta=True)
        await conn.session.update(session={"modalities": ["text"]})
        await collect(conn, "session.updated", beta=True)
        await conn.conversation.item.create(item=user_text("hello world"))
        await collect(conn, "conversation.item.created", beta=True)
        await conn.response.create()
        events = await collect(conn, "response.done", beta=True)
    assert reply_text(events, "response.text.delta") == "Hello world"
    done = done_of(events)
    assert done["status"] == "completed"
    assert done["output"][0]["content"] == [{"type": "text", "text": "Hello world"}]
