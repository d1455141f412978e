"""The LLM responder against a real HTTP server speaking the Chat Completions API (tests/fixtures_llm.py),
with the real OVOS stack behind it and the official openai SDK (and openai-agents) in front."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from agents import function_tool
from agents.realtime import RealtimeAgent, RealtimeRunner
from openai import AsyncOpenAI

from ovos_realtime_plugin.bus.dialogs import Dialogs
from ovos_realtime_plugin.core.items import Content, Item
from ovos_realtime_plugin.daemon_settings import daemon_settings
from ovos_realtime_plugin.llm.messages import chat_messages, chat_tool_choice
from ovos_realtime_plugin.llm.settings import llm_settings
from tests.fixtures_llm import TOOL_TIMEOUT_S, Hang, LlmRealtime, call, say, tool_messages
from tests.fixtures_ovos import TIME_LIKE
from tests.fixtures_server import API_KEY, Served
from tests.sdk_helpers import TIMEOUT, collect, user_text
from tests.test_function_examples import open_session as open_text_session
from tests.test_intent_tools import OVOS_MCP, WHAT_TIME, list_events, output_of, reply_text
from tests.voice_helpers import response_failure

WEATHER = {"type": "function", "name": "get_weather", "description": "Get the weather for a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


# --- the conversation as chat messages (pure) ---------------------------------------------------------
def message(role: str, *content: Content, item_id: str = "item_m") -> Item:
    return Item(id=item_id, type="message", role=role, content=list(content))


def test_the_conversation_becomes_chat_messages() -> None:
    items = [
        message("system", Content("input_text", text="Speak French.")),
        message("user", Content("input_audio", transcript="weather in Paris?")),
        message("assistant", Content("output_audio", transcript="Let me")),  # truncated: the words heard
        Item("item_c", "function_call", name="get_weather", call_id="call_a", arguments='{"city": "Paris"}'),
        Item("item_u", "function_call", name="unanswered", call_id="call_u", arguments="{}"),
        Item("item_o", "function_call_output", call_id="call_a", output="sunny"),
        Item("item_x", "function_call_output", call_id="call_gone", output="orphan"),
        Item("item_l", "mcp_list_tools", server_label="ovos", tools=[]),
        Item("mcp_1", "mcp_call", name=WHAT_TIME, arguments="{}", output="It's noon", server_label="ovos"),
        Item("mcp_2", "mcp_call", name=WHAT_TIME, arguments="{}", error={"type": "tool_execution_error",
                                                                         "message": "boom"}),
        message("user", Content("input_text", text="and this?"), Content("input_image", image_url="data:x")),
        message("assistant", Content("output_text", text="")),  # nothing said: left out
    ]
    assert chat_messages(items, "Be brief.") == [
        {"role": "system", "content": "Be brief."},
        {"role": "system", "content": "Speak French."},
        {"role": "user", "content": "weather in Paris?"},
        {"role": "assistant", "content": "Let me"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "call_a", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_a", "content": "sunny"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "mcp_1", "type": "function", "function": {"name": WHAT_TIME, "arguments": "{}"}},
            {"id": "mcp_2", "type": "function", "function": {"name": WHAT_TIME, "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "mcp_1", "content": "It's noon"},
        {"role": "tool", "tool_call_id": "mcp_2", "content": "error: boom"},
        {"role": "user", "content": [{"type": "text", "text": "and this?"},
                                     {"type": "image_url", "image_url": {"url": "data:x"}}]},
    ]
    assert chat_messages([], "  ") == []


def test_tool_choice_in_chat_terms() -> None:
    assert [chat_tool_choice(c) for c in ("auto", "none", "required")] == ["auto", "none", "required"]
    named = {"type": "function", "function": {"name": "get_weather"}}
    assert chat_tool_choice({"type": "function", "name": "get_weather"}) == named
    assert chat_tool_choice({"type": "mcp", "server_label": "ovos", "name": WHAT_TIME}) == \
        {"type": "function", "function": {"name": WHAT_TIME}}


def test_llm_settings_from_the_realtime_section() -> None:
    assert llm_settings({}) is None
    assert llm_settings({"llm": {"base_url": "http://x/v1"}}) is None  # no model: no LLM
    settings = llm_settings({"responder": "llm", "llm": {"base_url": "http://x/v1", "model": "m",
                                                           "tool_timeout_s": "3", "extra_body": {"top_k": 4}}})
    assert settings is not None and settings.responder == "llm" and settings.tool_timeout_s == 3.0
    assert dict(settings.extra_body) == {"top_k": 4} and settings.max_tokens_param == "max_tokens"
    for bad in ({"responder": "llm"}, {"responder": "gpt", "llm": {"base_url": "u", "model": "m"}},
                {"llm": {"base_url": "u", "model": "m", "temprature": 1}},
                {"llm": {"base_url": "u", "model": "m", "max_tokens_param": "tokens"}}):
        with pytest.raises(ValueError):
            llm_settings(bad)
    daemon = daemon_settings({"realtime": {"llm": {"base_url": "http://x/v1", "model": "m"}}})
    assert daemon.llm is not None and daemon.llm.responder == "ovos_first"
    assert daemon_settings({}).llm is None
    placed = daemon_settings({"realtime": {"fallback_priority": 92, "fallback_skill_id": "second.fallback"}})
    assert (placed.assistant.fallback_priority, placed.assistant.fallback_skill_id) == (92, "second.fallback")


# --- through the server, with the official SDK --------------------------------------------------------
def client(served: Served) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=API_KEY, base_url=served.http)


async def open_session(conn: Any, **session: Any) -> None:
    """A text session; with the ``ovos`` MCP tool, up to its listing."""
    await open_text_session(conn, **session)
    if any(t.get("type") == "mcp" for t in session.get("tools", [])):
        await list_events(conn)


async def ask(conn: Any, text: str, timeout: float = TIMEOUT, **response: Any) -> list[dict[str, Any]]:
    await conn.conversation.item.create(item=user_text(text))
    await collect(conn, "conversation.item.done")
    await conn.response.create(**({"response": response} if response else {}))
    return await collect(conn, "response.done", timeout=timeout)


def done(events: list[dict[str, Any]]) -> dict[str, Any]:
    assert events[-1]["type"] == "response.done"
    response: dict[str, Any] = events[-1]["response"]
    return response


async def test_ovos_answers_what_it_knows_and_the_llm_an_open_question(llm: LlmRealtime) -> None:
    llm.chat.script.append(say("The sky is blue because air ", "scatters blue light more than red."))
    async with client(llm.ovos_first).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn, instructions="You are a helpful voice assistant.")
        hello = await ask(conn, "hello world")
        assert reply_text(hello) == "Hello world" and llm.chat.requests == []  # an intent matched: no LLM
        events = await ask(conn, "why is the sky blue")
    answer = reply_text(events)
    assert answer == "The sky is blue because air scatters blue light more than red."
    assert answer not in Dialogs("unknown").variants("en-US")
    response = done(events)
    assert response["status"] == "completed" and [i["type"] for i in response["output"]] == ["message"]
    assert response["usage"]["input_tokens"] == 12 and response["usage"]["output_tokens"] == 7
    [request] = llm.chat.requests
    assert llm.chat.paths == ["POST /v1/chat/completions"]
    assert request["model"] == "test-model" and request["stream"] is True
    assert request["stream_options"] == {"include_usage": True}
    assert request["messages"] == [
        {"role": "system", "content": "You are a helpful voice assistant."},
        {"role": "user", "content": "hello world"}, {"role": "assistant", "content": "Hello world"},
        {"role": "user", "content": "why is the sky blue"}]
    tools = {t["function"]["name"]: t["function"] for t in request["tools"]}
    assert "what time is it" in tools[WHAT_TIME]["description"]
    assert tools[WHAT_TIME]["parameters"]["properties"]["location"]["type"] == "string"


@pytest.mark.parametrize("declared", [True, False], ids=["with-ovos-mcp", "without"])
async def test_the_model_calls_an_ovos_intent_and_speaks_its_result(llm: LlmRealtime, declared: bool) -> None:
    def answer(request: dict[str, Any]) -> list[dict[str, Any]]:
        spoken = json.loads(tool_messages(request)[-1]["content"])["spoken"]
        return say(f"Sure. {spoken}")

    llm.chat.script.extend([call(WHAT_TIME, "{}", "call_time"), answer])
    async with client(llm.llm_only).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn, tools=[OVOS_MCP] if declared else [])
        events = await ask(conn, "could you check the clock for me")
    output = output_of(events)
    text = reply_text(events)
    assert text.startswith("Sure. ") and TIME_LIKE.search(text), text
    if declared:
        assert [i["type"] for i in output] == ["mcp_call", "message"]
        mcp = output[0]
        assert (mcp["server_label"], mcp["name"], mcp["arguments"], mcp["error"]) == ("ovos", WHAT_TIME, "{}", None)
        assert text == f"Sure. {mcp['output']}"
    else:
        assert [i["type"] for i in output] == ["message"]
    assert done(events)["usage"]["input_tokens"] == 20 + 12  # both rounds
    first, second = llm.chat.requests
    assert first["tool_choice"] == "auto" and second["tool_choice"] == "auto"
    assert second["messages"][-2] == {"role": "assistant", "content": "", "tool_calls": [
        {"id": "call_time", "type": "function", "function": {"name": WHAT_TIME, "arguments": "{}"}}]}
    assert second["messages"][-1]["tool_call_id"] == "call_time"


async def test_tool_errors_and_timeouts_are_outputs_the_model_reads(llm: LlmRealtime) -> None:
    llm.chat.script.extend([call(WHAT_TIME, '{"colour": "red"}', "c1"), call("no_such_tool", "{}", "c2"),
                            call("ovos-realtime-test-skill_test__count_slowly", "{}", "c3"),
                            say("I could not do that.")])
    async with client(llm.llm_only).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn, tools=[OVOS_MCP])
        events = await ask(conn, "count slowly, with colours")
    outputs = [json.loads(m["content"]) for m in tool_messages(llm.chat.requests[-1])]
    assert "no slot colour" in outputs[0]["error"]
    assert outputs[1] == {"error": "there is no tool named 'no_such_tool'"}
    assert outputs[2] == {"error": f"the skill did not answer within {TOOL_TIMEOUT_S:g} s"}
    items = output_of(events)
    assert [i["type"] for i in items] == ["mcp_call", "mcp_call", "message"]  # the unknown tool is not shown
    assert items[0]["error"]["type"] == "tool_execution_error" and items[1]["error"] is not None
    assert reply_text(events) == "I could not do that."


@pytest.mark.parametrize(("choice", "sent"), [
    ("required", "required"), ("none", "none"),
    ({"type": "function", "name": "get_weather"}, {"type": "function", "function": {"name": "get_weather"}})])
async def test_tool_choice_reaches_the_model(llm: LlmRealtime, choice: Any, sent: Any) -> None:
    if choice == "none":
        llm.chat.script.append(say("I will not look that up."))
    else:
        llm.chat.script.append(call("get_weather", '{"city": "Oslo"}', "call_w"))
    async with client(llm.llm_only).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn, tools=[WEATHER], tool_choice=choice)
        events = await ask(conn, "weather in Oslo")
    [request] = llm.chat.requests
    assert request["tool_choice"] == sent
    assert {t["function"]["name"] for t in request["tools"]} >= {"get_weather", WHAT_TIME}
    output = output_of(events)
    if choice == "none":
        assert [i["type"] for i in output] == ["message"]
    else:
        assert [(i["type"], i["name"], i["call_id"], i["arguments"]) for i in output] == [
            ("function_call", "get_weather", "call_w", '{"city": "Oslo"}')]
        deltas = [e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"]
        assert deltas == ['{"city":', ' "Oslo"}']  # streamed as the model produced them


async def test_intent_calls_are_bounded_then_the_model_must_speak(llm: LlmRealtime) -> None:
    rounds = [call(WHAT_TIME, "{}", f"call_{n}") for n in range(4)]  # max_tool_rounds: 4
    llm.chat.script.extend([*rounds, say("It is ", "late.")])
    async with client(llm.llm_only).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn, tools=[OVOS_MCP], tool_choice="required")
        events = await ask(conn, "what time is it, really")
    assert [r["tool_choice"] for r in llm.chat.requests] == ["required", "auto", "auto", "auto", "none"]
    assert [len(tool_messages(r)) for r in llm.chat.requests] == [0, 1, 2, 3, 4]
    assert [i["type"] for i in output_of(events)] == ["mcp_call"] * 4 + ["message"]
    assert reply_text(events) == "It is late."


@pytest.mark.parametrize("repeat_name", [False, True], ids=["name-once", "name-in-every-delta"])
async def test_parallel_client_calls_are_two_function_call_items(llm: LlmRealtime, repeat_name: bool) -> None:
    llm.chat.script.append([*call("get_weather", '{"city": "Oslo"}', "call_Oslo", usage=None, finish=None,
                                  repeat_name=repeat_name),
                            *call("get_weather", '{"city": "Rome"}', "call_Rome", index=1, repeat_name=repeat_name)])
    async with client(llm.llm_only).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn, tools=[WEATHER])
        events = await ask(conn, "weather in Oslo and Rome")
    assert llm.chat.requests[0]["parallel_tool_calls"] is True
    assert [(i["type"], i["name"], i["call_id"], json.loads(i["arguments"])) for i in output_of(events)] == [
        ("function_call", "get_weather", "call_Oslo", {"city": "Oslo"}),
        ("function_call", "get_weather", "call_Rome", {"city": "Rome"})]


async def cut_off_story(served: Served, max_output_tokens: int) -> list[dict[str, Any]]:
    """Ask for a long story with a small token budget; the response must end incomplete for it."""
    async with client(served).realtime.connect(model="llm") as conn:
        await open_session(conn)
        events = await ask(conn, "tell me a long story about a dragon", max_output_tokens=max_output_tokens)
    response = done(events)
    assert (response["status"], response["status_details"]["reason"]) == ("incomplete", "max_output_tokens")
    return events


async def test_max_output_tokens_hit_makes_the_response_incomplete(llm: LlmRealtime) -> None:
    llm.chat.script.append(say("Once upon a", finish="length", usage=(9, 3)))
    events = await cut_off_story(llm.llm_only, 3)
    assert reply_text(events) == "Once upon a"
    assert llm.chat.requests[0]["max_tokens"] == 3


async def test_cancel_mid_stream_closes_the_upstream_request(llm: LlmRealtime) -> None:
    llm.chat.script.append(Hang(say("Once upon a time, ", "in a land far away,", finish=None, usage=None)))
    async with client(llm.llm_only).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn)
        await conn.conversation.item.create(item=user_text("tell me a long story"))
        await collect(conn, "conversation.item.done")
        await conn.response.create()
        await collect(conn, "response.output_text.delta")
        assert not llm.chat.hung_up.is_set()
        await conn.response.cancel()
        events = await collect(conn, "response.done")
        assert done(events)["status"] == "cancelled"
        await asyncio.wait_for(llm.chat.hung_up.wait(), 5)


async def test_a_failing_model_server_fails_the_response_and_the_session_goes_on(llm: LlmRealtime) -> None:
    async with client(llm.llm_only).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn)
        failed = await ask(conn, "hello there")  # nothing scripted: the chat server answers 500
        llm.chat.script.append(say("Hello again."))
        after = await ask(conn, "hello again")
    error = response_failure(failed)  # inside response.done, as OpenAI reports it
    assert error["type"] == "server_error" and "unscripted request" in error["message"]
    assert reply_text(after) == "Hello again." and done(after)["status"] == "completed"
    assert len(llm.chat.requests) == 2  # no retries: a voice turn fails fast


# --- openai-agents: a function tool the model calls ---------------------------------------------------
weather_calls: list[str] = []


@function_tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    weather_calls.append(city)
    return f"sunny in {city}"


async def test_agents_function_tool_round_trip_driven_by_the_model(llm: LlmRealtime) -> None:
    weather_calls.clear()
    llm.chat.script.extend([call("get_weather", '{"city": "Oslo"}', "call_agents"),
                            lambda request: say(f"It is {tool_messages(request)[-1]['content']}.")])
    agent = RealtimeAgent(name="A", instructions="Answer briefly.", tools=[get_weather])
    runner = RealtimeRunner(agent, config={"model_settings": {"model_name": "gpt-realtime", "modalities": ["text"]}})
    session = await runner.run(model_config={"url": f"{llm.ovos_first.url}/realtime?model=gpt-realtime",
                                             "api_key": API_KEY})
    events: list[Any] = []
    async with session:
        await session.send_message("blorp, what is the weather in Oslo")

        async def consume() -> None:
            ends = 0
            async for event in session:
                events.append(event)
                ends += event.type == "agent_end"
                if ends == 2:
                    return

        await asyncio.wait_for(consume(), 30)
    assert [e for e in events if e.type == "error"] == []
    assert weather_calls == ["Oslo"]
    first, second = llm.chat.requests
    assert first["messages"][0] == {"role": "system", "content": "Answer briefly."}
    assert "get_weather" in {t["function"]["name"] for t in first["tools"]}
    assert tool_messages(second) == [{"role": "tool", "tool_call_id": "call_agents", "content": "sunny in Oslo"}]
    history = [e.history for e in events if e.type == "history_updated"][-1]
    texts = [getattr(c, "text", None) for item in history if getattr(item, "role", None) == "assistant"
             for c in item.content]
    assert texts == ["It is sunny in Oslo."], history


# --- who answers, per session ---------------------------------------------------------------------------
async def test_the_session_s_model_picks_who_answers(llm: LlmRealtime) -> None:
    llm.chat.script.append(say("Hello to you too."))
    async with client(llm.ovos_first).realtime.connect(model="llm") as conn:  # the LLM alone
        await open_session(conn)
        by_llm = await ask(conn, "hello world")
    async with client(llm.ovos_first).realtime.connect(model="ovos") as conn:  # OVOS alone
        await open_session(conn)
        by_ovos = await ask(conn, "why is the sky blue")
    async with client(llm.llm_only).realtime.connect(model="gpt-realtime") as conn:  # the deployment: LLM alone
        await open_session(conn, model="ovos-llm")  # ... until the session asks for OVOS first
        by_skill = await ask(conn, "hello world")
    assert reply_text(by_llm) == "Hello to you too." and len(llm.chat.requests) == 1
    assert reply_text(by_ovos) in Dialogs("unknown").variants("en-US")
    assert reply_text(by_skill) == "Hello world" and len(llm.chat.requests) == 1


async def test_interleaved_parallel_call_deltas_keep_to_their_own_calls(llm: LlmRealtime) -> None:
    oslo = call("get_weather", '{"city": "Oslo"}', "call_Oslo", usage=None, finish=None)
    rome = call("get_weather", '{"city": "Rome"}', "call_Rome", index=1)
    # some servers interleave parallel calls: Oslo's name, Rome's name, then their halves in turns
    llm.chat.script.append([oslo[0], rome[0], oslo[1], rome[1], oslo[2], rome[2], *rome[3:]])
    async with client(llm.llm_only).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn, tools=[WEATHER])
        events = await ask(conn, "weather in Oslo and Rome")
    assert [(i["type"], i["call_id"], json.loads(i["arguments"])) for i in output_of(events)] == [
        ("function_call", "call_Oslo", {"city": "Oslo"}), ("function_call", "call_Rome", {"city": "Rome"})]
    for item in output_of(events):
        deltas = [e["delta"] for e in events
                  if e["type"] == "response.function_call_arguments.delta" and e["item_id"] == item["id"]]
        assert "".join(deltas) == item["arguments"]


async def test_a_model_that_says_nothing_with_tools_is_asked_again_without_them(llm: LlmRealtime) -> None:
    llm.chat.script.extend([say(), say("Penguins swim.")])
    async with client(llm.llm_only).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn, tools=[WEATHER])
        events = await ask(conn, "tell me about penguins")
    assert reply_text(events) == "Penguins swim." and done(events)["status"] == "completed"
    first, second = llm.chat.requests
    assert first["tools"] and "tools" not in second and "tool_choice" not in second
    assert second["messages"] == first["messages"]


async def test_temperature_is_the_beta_session_s_or_the_deployment_s(llm: LlmRealtime) -> None:
    llm.chat.script.extend([say("Warm."), say("Default.")])
    beta_client = AsyncOpenAI(api_key=API_KEY, websocket_base_url=llm.llm_only.url)
    async with beta_client.beta.realtime.connect(model="gpt-4o-realtime-preview") as conn:
        await collect(conn, "session.created", beta=True)
        await conn.session.update(session={"modalities": ["text"], "temperature": 0.7})
        shown = await collect(conn, "session.updated", beta=True)
        await conn.conversation.item.create(item=user_text("hello there"))
        await collect(conn, "conversation.item.created", beta=True)
        await conn.response.create()
        await collect(conn, "response.done", beta=True)
    async with client(llm.llm_only).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn)  # GA has no temperature: the deployment's (none here) applies
        await ask(conn, "hello there")
    beta, ga = llm.chat.requests
    assert beta["temperature"] == 0.7 and "temperature" not in ga
    assert shown[-1]["session"]["temperature"] == 0.7
