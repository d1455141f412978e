"""Client function tools with example phrases, triggered with no LLM: the pure parts (examples, types,
spoken output), the padacioso matcher, then the official openai SDK and openai-agents against the real
server and the real OVOS stack (tests/fixtures_intents.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from agents import function_tool
from agents.realtime import RealtimeAgent, RealtimeRunner
from openai import AsyncOpenAI

from ovos_realtime_plugin.bus.dialogs import Dialogs
from ovos_realtime_plugin.bus.examples import (
    NotConvertible,
    Speech,
    convert,
    convert_arguments,
    parse_examples,
    speakable,
)
from ovos_realtime_plugin.bus.function_tools import FunctionExamples, FunctionMatch
from tests.fixtures_intents import ToolsRealtime
from tests.fixtures_server import API_KEY
from tests.sdk_helpers import FUNCTION_CALL_FLOW, collect, squeeze, types, user_text

WORDS = {"five": 5, "twenty": 20, "two and a half": 2.5}.get
TIMER = {
    "type": "function", "name": "set_timer",
    "description": "Set a kitchen timer.\nExamples:\n- set a timer for {minutes} minutes [called {label}]\n"
                   "- start a {minutes} minute timer",
    "parameters": {"type": "object", "properties": {"minutes": {"type": "integer"}, "label": {"type": "string"}},
                   "required": ["minutes"]},
}
LIGHTS = {
    "type": "function", "name": "switch_lights",
    "description": "Switch the lights. Examples: turn the {room} lights {on}; (dim|set) the {room} lights to "
                   "{level} percent",
    "parameters": {"type": "object", "properties": {
        "room": {"type": "string", "enum": ["kitchen", "Living Room"]},
        "on": {"anyOf": [{"type": "boolean"}, {"type": "null"}]},
        "level": {"type": "number"}}},
}
NO_EXAMPLES = {"type": "function", "name": "get_weather", "description": "Get the weather for a city.",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


# --- the convention: examples in a description --------------------------------------------------
@pytest.mark.parametrize(("description", "examples"), [
    ("Get the weather. Examples: weather in {city}; what's the weather in {city}",
     ["weather in {city}", "what's the weather in {city}"]),
    ("Set a timer.\n\nExamples:\n- set a timer for {minutes} minutes\n* start a {minutes} minute timer\n"
     "1. \"timer {minutes}\"\n\nMore prose that is not an example.",
     ["set a timer for {minutes} minutes", "start a {minutes} minute timer", "timer {minutes}"]),
    ("Set a timer.\nexamples:\nset a timer for {minutes} minutes\nArgs:\nminutes: how long",
     ["set a timer for {minutes} minutes"]),
    ("Example: ping; ping; pong", ["ping", "pong"]),
    ("Set a timer.", []),
    ("", []),
    (None, []),
])
def test_examples_are_read_from_the_description(description: str | None, examples: list[str]) -> None:
    assert parse_examples(description) == examples


# --- slot text → the parameter's JSON type ------------------------------------------------------
@pytest.mark.parametrize(("text", "schema", "value"), [
    ("12", {"type": "integer"}, 12),
    ("1,000", {"type": "integer"}, 1000),
    ("five", {"type": "integer"}, 5),
    ("-3", {"type": "integer"}, -3),
    ("2.5", {"type": "number"}, 2.5),
    ("20", {"type": "number"}, 20),
    ("two and a half", {"type": "number"}, 2.5),
    ("Yes", {"type": "boolean"}, True),
    ("off", {"type": "boolean"}, False),
    ("living room", {"type": "string", "enum": ["kitchen", "Living Room"]}, "Living Room"),
    ("7", {"anyOf": [{"type": "integer"}, {"type": "null"}]}, 7),
    ("seven", {"type": ["string", "null"]}, "seven"),
    ("milk, eggs and bread", {"type": "array", "items": {"type": "string"}}, ["milk", "eggs", "bread"]),
    ("1, 2 and 3", {"type": "array", "items": {"type": "integer"}}, [1, 2, 3]),
    (" New York. ", {"type": "string"}, "New York"),
    ("anything", None, "anything"),
])
def test_slot_text_becomes_the_parameter_s_type(text: str, schema: dict[str, Any] | None, value: Any) -> None:
    converted = convert(text, schema, WORDS)
    assert converted == value and type(converted) is type(value)


@pytest.mark.parametrize(("text", "schema"), [
    ("lots", {"type": "integer"}),
    ("2.5", {"type": "integer"}),
    ("five", {"type": "integer"}),  # no number parser given
    ("maybe", {"type": "boolean"}),
    ("garage", {"type": "string", "enum": ["kitchen"]}),
    ("", {"type": "string"}),
    ("{}", {"type": "object"}),
])
def test_a_slot_that_does_not_fit_is_refused(text: str, schema: dict[str, Any]) -> None:
    with pytest.raises(NotConvertible):
        convert(text, schema, None if text == "five" else WORDS)


def test_slots_map_to_parameters_case_insensitively_and_unknown_ones_are_dropped() -> None:
    parameters = {"type": "object", "properties": {"Minutes": {"type": "integer"}}}
    assert convert_arguments({"minutes": "5", "colour": "red"}, parameters) == {"Minutes": 5}
    assert convert_arguments({"city": "Oslo"}, None) == {"city": "Oslo"}


# --- function output → speech ---------------------------------------------------------------------
@pytest.mark.parametrize(("output", "speech"), [
    ("Timer pasta set for 5 minutes.", Speech("Timer pasta set for 5 minutes.")),
    ('"sunny in Oslo"', Speech("sunny in Oslo")),
    ("21.0", Speech("21")),
    ('{"ok": true, "message": "Timer set"}', Speech("Timer set")),
    ('{"error": "no such city"}', Speech("no such city")),
    ('{"temperature": 21, "unit": "celsius", "details": {"wind": 3}}', Speech("temperature 21, unit celsius")),
    ('["milk", "eggs", "bread"]', Speech("milk, eggs and bread")),
    ("true", Speech(dialog="done")),
    ("null", Speech(dialog="done")),
    ("{}", Speech(dialog="done")),
    ("", Speech(dialog="done")),
    ("false", Speech(dialog="failed")),
])
def test_function_output_is_rendered_for_speech(output: str, speech: Speech) -> None:
    assert speakable(output) == speech


# --- the padacioso matcher ----------------------------------------------------------------------------
def test_a_turn_matching_an_example_gives_typed_arguments() -> None:
    matcher = FunctionExamples()
    tools = [TIMER, LIGHTS, NO_EXAMPLES]
    assert matcher.match("Set a timer for five minutes called pasta.", tools, "auto", "en-US") == \
        FunctionMatch("set_timer", {"minutes": 5, "label": "pasta"})
    assert matcher.match("start a 12 minute timer", tools, "required", "en-US") == \
        FunctionMatch("set_timer", {"minutes": 12})
    assert matcher.match("turn the kitchen lights off", tools, "auto", "en-US") == \
        FunctionMatch("switch_lights", {"room": "kitchen", "on": False})
    assert matcher.match("dim the living room lights to 40 percent", tools, "auto", "en-US") == \
        FunctionMatch("switch_lights", {"room": "Living Room", "level": 40})
    assert FunctionMatch("set_timer", {"minutes": 5}).arguments_json == '{"minutes": 5}'


def test_no_match_no_examples_or_a_slot_that_does_not_fit_is_no_call() -> None:
    matcher = FunctionExamples()
    tools = [TIMER, LIGHTS, NO_EXAMPLES]
    assert matcher.match("what time is it", tools, "auto", "en-US") is None
    assert matcher.match("set a timer for lots of minutes", tools, "auto", "en-US") is None
    # the longer example (padacioso's pick for the tool) takes "oat" for a count and does not convert: the
    # shorter one is tried
    shopping = {"type": "function", "name": "add_item", "description": "Examples: add {count} {item} to the list; "
                "add {item} to the list", "parameters": {"type": "object", "properties": {
                    "count": {"type": "integer"}, "item": {"type": "string"}}}}
    assert matcher.match("add oat milk to the list", [shopping], "auto", "en-US") == \
        FunctionMatch("add_item", {"item": "oat milk"})
    assert matcher.match("turn the garage lights on", tools, "auto", "en-US") is None  # not in the enum
    assert matcher.match("weather in Oslo", [NO_EXAMPLES], "auto", "en-US") is None


def test_tool_choice_none_disables_and_a_named_choice_restricts_matching() -> None:
    matcher = FunctionExamples()
    tools = [TIMER, LIGHTS]
    assert matcher.match("set a timer for 5 minutes", tools, "none", "en-US") is None
    assert matcher.match("set a timer for 5 minutes", tools, {"type": "function", "name": "switch_lights"},
                         "en-US") is None
    assert matcher.match("set a timer for 5 minutes", tools, {"type": "function", "name": "set_timer"},
                         "en-US") == FunctionMatch("set_timer", {"minutes": 5})
    assert matcher.match("set a timer for 5 minutes", tools, {"type": "mcp", "server_label": "ovos"},
                         "en-US") is None


def test_the_examples_follow_the_session_s_tools() -> None:
    matcher = FunctionExamples()
    assert matcher.match("set a timer for 5 minutes", [TIMER], "auto", "en-US") is not None
    renamed = {**TIMER, "description": "Examples: boil an egg for {minutes} minutes"}
    assert matcher.match("set a timer for 5 minutes", [renamed], "auto", "en-US") is None
    assert matcher.match("boil an egg for 5 minutes", [renamed], "auto", "en-US") == \
        FunctionMatch("set_timer", {"minutes": 5})


# --- through the server, with the official SDK ---------------------------------------------------------
def client(server: ToolsRealtime) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=API_KEY, base_url=server.http)


async def open_session(conn: Any, **session: Any) -> None:
    await collect(conn, "session.created")
    await conn.session.update(session={"type": "realtime", "output_modalities": ["text"], **session})
    await collect(conn, "session.updated")


async def ask(conn: Any, text: str) -> list[dict[str, Any]]:
    await conn.conversation.item.create(item=user_text(text))
    await collect(conn, "conversation.item.done")
    await conn.response.create()
    return await collect(conn, "response.done")


async def answer_call(conn: Any, call_id: str, output: str) -> list[dict[str, Any]]:
    await conn.conversation.item.create(item={"type": "function_call_output", "call_id": call_id,
                                              "output": output})
    await collect(conn, "conversation.item.done")
    await conn.response.create()
    return await collect(conn, "response.done")


def reply_text(events: list[dict[str, Any]]) -> str:
    assert not [e for e in events if e["type"] == "error"]
    return "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")


async def test_a_typed_turn_calls_the_function_and_its_output_is_spoken(tools_realtime: ToolsRealtime) -> None:
    async with client(tools_realtime).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn, tools=[TIMER, NO_EXAMPLES])
        events = await ask(conn, "set a timer for five minutes called pasta")
        assert squeeze(types(events)) == FUNCTION_CALL_FLOW
        done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
        assert done["name"] == "set_timer"
        assert json.loads(done["arguments"]) == {"minutes": 5, "label": "pasta"}
        assert events[-1]["response"]["status"] == "completed"
        spoken = await answer_call(conn, done["call_id"], "Timer pasta set for 5 minutes.")
        assert reply_text(spoken) == "Timer pasta set for 5 minutes."
        events = await ask(conn, "start a 3 minute timer")
        call = events[-1]["response"]["output"][0]
        spoken = await answer_call(conn, call["call_id"], json.dumps({"ok": True, "message": "Three minutes."}))
        assert reply_text(spoken) == "Three minutes."
        events = await ask(conn, "start a 1 minute timer")
        spoken = await answer_call(conn, events[-1]["response"]["output"][0]["call_id"], "true")
    assert reply_text(spoken) in Dialogs("done").variants("en-US")


async def test_a_response_with_no_new_turn_runs_nothing_again(tools_realtime: ToolsRealtime) -> None:
    """A ``response.create`` after an answered turn (with nothing new, or after the client's own assistant message)
    does not call the previous turn's client tool again nor ask its skill again. Typed text sent as a ``system``
    message (pipecat does) is a new turn: its words go to OVOS."""
    async with client(tools_realtime).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn, tools=[LIGHTS])
        events = await ask(conn, "turn the kitchen lights on")
        call = events[-1]["response"]["output"][0]
        assert call["type"] == "function_call"
        await answer_call(conn, call["call_id"], "The kitchen lights are on.")
        again = []
        await conn.response.create()  # nothing new at all
        again.append(await collect(conn, "response.done"))
        await conn.conversation.item.create(item={"type": "message", "role": "assistant",
                                                  "content": [{"type": "output_text", "text": "Anything else?"}]})
        await collect(conn, "conversation.item.done")
        await conn.response.create()
        again.append(await collect(conn, "response.done"))
        for events in again:
            assert [e for e in events if e["type"] == "error"] == []
            assert events[-1]["response"]["status"] == "completed" and events[-1]["response"]["output"] == []
        await conn.conversation.item.create(item={"type": "message", "role": "system",
                                                  "content": [{"type": "input_text", "text": "hello world"}]})
        await collect(conn, "conversation.item.done")
        await conn.response.create()
        typed = await collect(conn, "response.done")
    assert reply_text(typed) == "Hello world"


async def test_a_turn_that_matches_no_example_still_goes_to_ovos(tools_realtime: ToolsRealtime) -> None:
    async with client(tools_realtime).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn, tools=[TIMER])
        events = await ask(conn, "hello world")
    assert [item["type"] for item in events[-1]["response"]["output"]] == ["message"]
    assert reply_text(events) == "Hello world"


async def test_tool_choice_none_lets_ovos_answer(tools_realtime: ToolsRealtime) -> None:
    async with client(tools_realtime).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn, tools=[TIMER], tool_choice="none")
        events = await ask(conn, "set a timer for five minutes")
    assert [item["type"] for item in events[-1]["response"]["output"]] == ["message"]  # no function_call
    # OVOS answered: no timer skill is installed, so "I don't know" — unless a freshly trained padatious model
    # scores one of the date-time skill's intents above the low stage's 0.5 for it (seen once in CI)
    assert reply_text(events).strip()


async def test_a_named_tool_choice_restricts_matching(tools_realtime: ToolsRealtime) -> None:
    async with client(tools_realtime).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn, tools=[TIMER, LIGHTS], tool_choice={"type": "function", "name": "switch_lights"})
        timer = await ask(conn, "set a timer for five minutes")
        lights = await ask(conn, "turn the kitchen lights on")
    assert [item["type"] for item in timer[-1]["response"]["output"]] == ["message"]
    call = lights[-1]["response"]["output"][0]
    assert (call["name"], json.loads(call["arguments"])) == ("switch_lights", {"room": "kitchen", "on": True})


# --- openai-agents: a @function_tool with examples in its docstring, no LLM ------------------------------
timers: list[tuple[int, str]] = []


@function_tool
def set_kitchen_timer(minutes: int, label: str) -> str:
    """Set a kitchen timer.

    Examples: set a timer for {minutes} minutes called {label}; start a {minutes} minute {label} timer

    Args:
        minutes: how long the timer runs
        label: what the timer is for
    """
    timers.append((minutes, label))
    return f"The {label} timer is set for {minutes} minutes."


async def agent_turns(server: ToolsRealtime, texts: list[str], agent_ends: list[int]) -> tuple[list[Any], ...]:
    agent = RealtimeAgent(name="Kitchen", instructions="", tools=[set_kitchen_timer])
    runner = RealtimeRunner(agent, config={"model_settings": {"model_name": "gpt-realtime",
                                                               "modalities": ["text"]}})
    session = await runner.run(model_config={"url": f"{server.url}/realtime?model=gpt-realtime",
                                             "api_key": API_KEY})
    turns: list[list[Any]] = []
    async with session:
        for text, ends in zip(texts, agent_ends, strict=True):
            events: list[Any] = []
            await session.send_message(text)

            async def consume(into: list[Any], wanted: int) -> None:
                seen = 0
                async for event in session:
                    into.append(event)
                    if event.type == "agent_end":
                        seen += 1
                        if seen == wanted:
                            return

            await asyncio.wait_for(consume(events, ends), 30)
            turns.append(events)
    return tuple(turns)


def assistant_texts(events: list[Any]) -> list[str]:
    """The assistant's messages in the session's history as of the turn's last ``history_updated``."""
    history = next(e.history for e in reversed(events) if e.type == "history_updated")
    return [getattr(c, "text", None) or getattr(c, "transcript", None) or ""
            for item in history if getattr(item, "role", None) == "assistant" for c in item.content]


async def test_agents_function_tool_with_examples_runs_without_an_llm(tools_realtime: ToolsRealtime) -> None:
    timers.clear()
    timer_turn, hello_turn = await agent_turns(
        tools_realtime, ["set a timer for twenty minutes called pasta", "hello world"], [2, 1])
    errors = [e for turn in (timer_turn, hello_turn) for e in turn if e.type == "error"]
    assert errors == []
    assert timers == [(20, "pasta")]
    kinds = [e.type for e in timer_turn]
    assert kinds.index("tool_start") < kinds.index("tool_end")
    assert "The pasta timer is set for 20 minutes." in assistant_texts(timer_turn)
    assert "Hello world" in assistant_texts(hello_turn)  # no example matches: OVOS answers
    assert timers == [(20, "pasta")]
