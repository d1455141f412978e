"""OVOS intents as the tools of the ``ovos`` MCP server: listed, shown as ``mcp_call`` items when the
pipeline runs them, and run directly by name. The official openai SDK against the real server and the
real OVOS stack (tests/fixtures_intents.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai import AsyncOpenAI

from ovos_realtime_plugin.bus.assistant import OvosAssistant
from ovos_realtime_plugin.bus.client import BusConnection
from ovos_realtime_plugin.bus.intents import IntentTool, UnknownIntentError, humanize, slots_of, tool_name
from ovos_realtime_plugin.core.assistant import ServerToolCall, TextDelta
from ovos_realtime_plugin.protocol.parse import parse_event
from ovos_realtime_plugin.protocol.session import RealtimeSession
from tests.fixtures_intents import HOLD_S, ToolsRealtime
from tests.fixtures_ovos import TIME_LIKE, OvosStack, next_of_type, observe
from tests.fixtures_server import API_KEY
from tests.sdk_helpers import collect, squeeze, types, user_text
from tests.test_core_sequences import Core

OVOS_MCP = {"type": "mcp", "server_label": "ovos"}
WHAT_TIME = "ovos-skill-date-time_openvoiceos__what_time_is_it"
HELLO_WORLD = "ovos-skill-hello-world_openvoiceos__HelloWorldIntent"
SPELL = "ovos-realtime-test-skill_test__spell_word"
TIME_UNTIL = "ovos-skill-date-time_openvoiceos__time_until"
MCP_CALL_FLOW = [
    "response.output_item.added", "conversation.item.added", "response.mcp_call_arguments.delta",
    "response.mcp_call_arguments.done", "response.mcp_call.in_progress", "response.mcp_call.completed",
    "conversation.item.done", "response.output_item.done",
]
TEXT_ITEM_FLOW = [
    "response.output_item.added", "conversation.item.added", "response.content_part.added",
    "response.output_text.delta", "response.output_text.done", "response.content_part.done",
    "conversation.item.done", "response.output_item.done",
]


# --- names, slots and arguments (pure) -------------------------------------------------------------------
def test_tool_names_fit_the_function_name_charset_and_length() -> None:
    assert tool_name("ovos-skill-date-time.openvoiceos", "what.time.is.it.intent") == WHAT_TIME
    long = tool_name("ovos-skill-a-very-long-skill-identifier.some-author", "a.rather.long.intent.name.intent")
    other = tool_name("ovos-skill-a-very-long-skill-identifier.some-author", "a.rather.long.intent.name.too.intent")
    assert len(long) == len(other) == 64 and long != other
    assert long.replace("_", "").replace("-", "").isalnum()


def test_slots_required_slots_and_arguments_of_an_intent_message() -> None:
    samples = ["what time is it", "what time is it in {location}", "time in {{ location }}"]
    assert slots_of(samples) == (("location",), ())
    assert slots_of(["when is {date}", "how long until {date} in {location}"]) == (("date", "location"), ("date",))
    padatious = IntentTool("s__w", "s.a:what.time.is.it.intent", "s.a", "what.time.is.it.intent",
                           slots=("location",), samples=tuple(samples))
    data = {"utterances": ["what time is it in paris"], "lang": "en-US", "location": "paris",
            "utterance": "what time is it in paris"}
    assert padatious.arguments_from(data) == {"location": "paris"}
    assert padatious.utterance_for({"location": "Oslo"}) == "what time is it in Oslo"
    assert padatious.utterance_for({}) == "what time is it"
    adapt = IntentTool("h__W", "hello.x:WeatherIntent", "hello.x", "WeatherIntent", "adapt", slots=("Location",))
    assert adapt.arguments_from({"hello_xWeatherKeyword": "weather", "hello_xLocation": "Oslo",
                                 "intent_type": "hello.x:WeatherIntent", "__tags__": []}) == {"Location": "Oslo"}
    unknown = IntentTool.for_message("other.y:thing.intent")
    assert unknown.name == "other_y__thing" and unknown.engine == "unknown"
    assert unknown.arguments_from({"utterance": "u", "other_yColour": "red", "size": 3}) == \
        {"Colour": "red", "size": "3"}
    assert humanize("HelloWorldIntent") == "hello world" and humanize("what.time.is.it.intent") == "what time is it"


# --- the session core, with a stand-in lister ---------------------------------------------------------
class Lister:
    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []

    def list_tools(self, tool: dict[str, Any]) -> list[dict[str, Any]] | None:
        self.asked.append(tool)
        if tool["server_label"] != "ovos":
            return None
        return [{"name": "a__b", "description": "d", "input_schema": {"type": "object"}, "annotations": None}]


def test_the_core_lists_a_new_mcp_server_s_tools_once() -> None:
    core, lister = Core(), Lister()
    core.session.tool_lister = lister
    events = core.send({"type": "session.update", "session": {"type": "realtime", "tools": [
        {**OVOS_MCP, "require_approval": "never"}, {"type": "mcp", "server_label": "docs"}]}})
    assert types(events) == ["session.updated",
                             "conversation.item.added", "mcp_list_tools.in_progress", "mcp_list_tools.completed",
                             "conversation.item.done",
                             "conversation.item.added", "mcp_list_tools.in_progress", "mcp_list_tools.failed",
                             "conversation.item.done"]
    assert lister.asked[0] == {"type": "mcp", "server_label": "ovos", "require_approval": "never"}
    listed = events[4]["item"]
    assert listed["tools"][0]["name"] == "a__b" and listed["id"].startswith("mcpl_")
    assert events[8]["previous_item_id"] == listed["id"] and events[8]["item"]["tools"] == []
    # unchanged tools: nothing new; dropped and declared again: listed again
    assert types(core.send({"type": "session.update", "session": {"type": "realtime", "instructions": "x"}})) == \
        ["session.updated"]
    assert types(core.send({"type": "session.update", "session": {"type": "realtime", "tools": []}})) == \
        ["session.updated"]
    again = core.send({"type": "session.update", "session": {"type": "realtime", "tools": [OVOS_MCP]}})
    assert types(again)[-2:] == ["mcp_list_tools.completed", "conversation.item.done"]
    assert len(lister.asked) == 3
    request = core.respond().request
    assert [item.type for item in request.items] == ["mcp_list_tools"] * 3


def test_the_core_fails_a_listing_without_a_lister_and_beta_lists_nothing() -> None:
    core = Core()
    events = core.send({"type": "session.update", "session": {"type": "realtime", "tools": [OVOS_MCP]}})
    assert types(events)[1:] == ["conversation.item.added", "mcp_list_tools.in_progress", "mcp_list_tools.failed",
                                 "conversation.item.done"]
    # the beta dialect has no MCP tools (its session.update refuses them) and no MCP items
    beta = RealtimeSession(dialect="beta", clock=lambda: 0.0)
    beta.tool_lister = Lister()
    beta.handle(parse_event(json.dumps({"type": "session.update", "session": {"type": "realtime",
                                                                               "tools": [OVOS_MCP]}}), "ga"))
    assert [e["type"] for e in beta.pop_events()] == ["session.updated"]


def test_a_server_tool_call_is_an_mcp_call_item_then_the_text() -> None:
    core = Core()
    rid = core.respond().request.response_id
    events = core.output(rid, ServerToolCall("ovos", "a__b", '{"x": "1"}', "said"), TextDelta("said"))
    events += core.output(rid, ServerToolCall("ovos", "a__c", "{}", None, "boom"))
    core.session.on_assistant_end(rid)
    events += core.take()
    assert squeeze(types(events)) == [
        *MCP_CALL_FLOW, *TEXT_ITEM_FLOW,
        *[t.replace("mcp_call.completed", "mcp_call.failed") for t in MCP_CALL_FLOW],
        "response.done", "rate_limits.updated"]
    call, message, failed = events[-2]["response"]["output"]
    assert (call["name"], call["arguments"], call["output"], call["error"]) == ("a__b", '{"x": "1"}', "said", None)
    assert message["content"][0]["text"] == "said"
    assert failed["error"] == {"type": "tool_execution_error", "message": "boom"} and failed["output"] is None


# --- through the server and the real OVOS stack, with the official SDK --------------------------------
def client(server: ToolsRealtime) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=API_KEY, base_url=server.http)


async def open_session(conn: Any, tools: list[dict[str, Any]], **session: Any) -> list[dict[str, Any]]:
    """A text session with ``tools``; the events up to and including ``session.updated``."""
    await collect(conn, "session.created")
    await conn.session.update(session={"type": "realtime", "output_modalities": ["text"], "tools": tools,
                                       **session})
    return await collect(conn, "session.updated")


async def list_events(conn: Any) -> list[dict[str, Any]]:
    """The ``mcp_list_tools`` item's events that follow ``session.updated``."""
    events = await collect(conn, "conversation.item.added")
    events += await collect(conn, "conversation.item.done")
    return events


async def ask(conn: Any, text: str) -> list[dict[str, Any]]:
    await conn.conversation.item.create(item=user_text(text))
    await collect(conn, "conversation.item.done")
    await conn.response.create()
    return await collect(conn, "response.done")


def reply_text(events: list[dict[str, Any]]) -> str:
    return "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")


def output_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    assert events[-1]["type"] == "response.done"
    assert not [e for e in events if e["type"] == "error"]
    output: list[dict[str, Any]] = events[-1]["response"]["output"]
    return output


async def test_mcp_list_tools_lists_the_installed_intents_with_samples(tools_realtime: ToolsRealtime) -> None:
    async with client(tools_realtime).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn, [OVOS_MCP])
        events = await list_events(conn)
    assert types(events) == ["conversation.item.added", "mcp_list_tools.in_progress", "mcp_list_tools.completed",
                             "conversation.item.done"]
    item_id = events[0]["item"]["id"]
    assert all(e.get("item_id", e.get("item", {}).get("id")) == item_id for e in events)
    assert events[0]["item"]["tools"] == []
    item = events[-1]["item"]
    assert item["type"] == "mcp_list_tools" and item["server_label"] == "ovos"
    tools = {t["name"]: t for t in item["tools"]}
    what_time = tools[WHAT_TIME]
    assert "what time is it" in what_time["description"]
    assert "what time is it in {location}" in what_time["description"]
    assert what_time["input_schema"]["properties"]["location"]["type"] == "string"
    assert "Tokyo" not in what_time["description"] and "e.g." in \
        what_time["input_schema"]["properties"]["location"]["description"]
    assert tools[TIME_UNTIL]["input_schema"]["required"] == ["date"]
    assert "hello world" in tools[HELLO_WORLD]["description"]  # an adapt intent: samples from its vocabulary
    assert "how are you" in tools["ovos-skill-hello-world_openvoiceos__HowAreYou"]["description"]
    assert "count slowly" in tools["ovos-realtime-test-skill_test__count_slowly"]["description"]
    assert all(len(name) <= 64 and name.replace("_", "").replace("-", "").isalnum() for name in tools)


async def test_allowed_tools_narrows_the_list(tools_realtime: ToolsRealtime) -> None:
    async with client(tools_realtime).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn, [{**OVOS_MCP, "allowed_tools": [WHAT_TIME, HELLO_WORLD]}])
        events = await list_events(conn)
    assert sorted(t["name"] for t in events[-1]["item"]["tools"]) == sorted([WHAT_TIME, HELLO_WORLD])


async def test_an_mcp_server_this_server_cannot_reach_fails_to_list(tools_realtime: ToolsRealtime) -> None:
    async with client(tools_realtime).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn, [{"type": "mcp", "server_label": "docs", "server_url": "https://example.invalid"}])
        events = await list_events(conn)
        assert types(events) == ["conversation.item.added", "mcp_list_tools.in_progress", "mcp_list_tools.failed",
                                 "conversation.item.done"]
        # the same tools again: nothing is listed twice
        await conn.session.update(session={"type": "realtime", "instructions": "be brief"})
        after = await collect(conn, "session.updated")
        assert types(after) == ["session.updated"]
        events = await ask(conn, "hello world")
    assert reply_text(events) == "Hello world"
    assert [item["type"] for item in output_of(events)] == ["message"]


async def test_what_time_is_it_is_an_mcp_call_then_the_spoken_answer(tools_realtime: ToolsRealtime) -> None:
    async with client(tools_realtime).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn, [OVOS_MCP])
        await list_events(conn)
        events = await ask(conn, "what time is it")
    assert squeeze(types(events)) == ["response.created", *MCP_CALL_FLOW, *TEXT_ITEM_FLOW, "response.done"]
    call, message = output_of(events)
    assert call["type"] == "mcp_call" and call["server_label"] == "ovos" and call["name"] == WHAT_TIME
    assert json.loads(call["arguments"]) == {} and call["error"] is None
    assert TIME_LIKE.search(call["output"]), call["output"]
    assert message["content"][0]["text"] == reply_text(events) == call["output"]
    args_done = next(e for e in events if e["type"] == "response.mcp_call_arguments.done")
    assert args_done["item_id"] == call["id"] and args_done["output_index"] == 0


async def test_an_intent_s_slots_are_the_call_s_arguments(tools_realtime: ToolsRealtime) -> None:
    async with client(tools_realtime).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn, [OVOS_MCP])
        await list_events(conn)
        events = await ask(conn, "how do you spell cat")
        hello = await ask(conn, "hello world")
    call = output_of(events)[0]
    assert call["name"] == SPELL and json.loads(call["arguments"]) == {"word": "cat"}
    assert call["output"] == reply_text(events) == "C A T"
    assert [(i["type"], i.get("name"), i.get("output")) for i in output_of(hello)] == [
        ("mcp_call", HELLO_WORLD, "Hello world"), ("message", None, None)]


async def test_a_skill_that_keeps_running_shows_its_call_after_the_hold(tools_realtime: ToolsRealtime) -> None:
    async with client(tools_realtime).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn, [OVOS_MCP])
        await list_events(conn)
        await conn.conversation.item.create(item=user_text("count slowly"))
        await collect(conn, "conversation.item.done")
        await conn.response.create()
        # the handler holds 10 s after "one": the call is shown after HOLD_S, and its speech follows
        shown = await collect(conn, "response.output_text.delta")
        await conn.response.cancel()
        events = shown + await collect(conn, "response.done")
    call = next(e["item"] for e in shown if e["type"] == "response.output_item.done")
    assert call["type"] == "mcp_call" and call["name"] == "ovos-realtime-test-skill_test__count_slowly"
    assert call["output"] == "one" and shown[-1]["delta"] == "one"
    assert HOLD_S < 10
    assert events[-1]["response"]["status"] == "cancelled"


async def test_tool_choice_none_shows_no_calls(tools_realtime: ToolsRealtime) -> None:
    async with client(tools_realtime).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn, [OVOS_MCP], tool_choice="none")
        await list_events(conn)
        events = await ask(conn, "hello world")
    assert [item["type"] for item in output_of(events)] == ["message"]
    assert reply_text(events) == "Hello world"


async def test_without_the_mcp_tool_no_call_is_shown(tools_realtime: ToolsRealtime) -> None:
    async with client(tools_realtime).realtime.connect(model="gpt-realtime") as conn:
        assert types(await open_session(conn, [])) == ["session.updated"]
        events = await ask(conn, "what time is it")
    assert [item["type"] for item in output_of(events)] == ["message"]
    assert TIME_LIKE.search(reply_text(events))


async def test_an_intent_runs_directly_by_name_with_arguments(ovos_stack: OvosStack, ovos_bus: BusConnection,
                                                              tools_realtime: ToolsRealtime) -> None:
    assistant = OvosAssistant(ovos_bus, session_id="sess_direct_intent", intents=tools_realtime.intents)
    assert assistant.session is not None
    observer, seen = await observe(ovos_stack.port, assistant.session.session_id)
    try:
        run = await assistant.run_intent(WHAT_TIME, {"location": "Asia/Tokyo"})
        sent = await next_of_type(seen, "ovos-skill-date-time.openvoiceos:what.time.is.it.intent")
        await next_of_type(seen, "ovos.utterance.handled")
    finally:
        await observer.close()
        assistant.close()
    assert sent.data["location"] == "Asia/Tokyo" and "Asia/Tokyo" in sent.data["utterance"]
    assert run.error is None and run.arguments == {"location": "Asia/Tokyo"}
    assert TIME_LIKE.search(run.text), run.text
    call = run.server_call("ovos")
    assert (call.name, json.loads(call.arguments), call.output) == (WHAT_TIME, {"location": "Asia/Tokyo"}, run.text)


async def test_running_an_unknown_intent_or_slot_is_refused(ovos_bus: BusConnection,
                                                            tools_realtime: ToolsRealtime) -> None:
    assistant = OvosAssistant(ovos_bus, session_id="sess_direct_refused", intents=tools_realtime.intents)
    try:
        with pytest.raises(UnknownIntentError):
            await assistant.run_intent("no-such-skill__nothing")
        with pytest.raises(ValueError, match="no slot city"):
            await assistant.run_intent(WHAT_TIME, {"city": "Tokyo"})
        run = await assistant.run_intent(HELLO_WORLD)
    finally:
        assistant.close()
    assert run.spoken == ("Hello world",)
