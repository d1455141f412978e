"""The LLM flows against a real small model (Gemma 3 270M on llama-cpp-python's server, tests/fixtures_local_llm.py)
with the real OVOS stack and the official openai SDK. The model's words are its own: the tests check the shape
of what it does (an answer, a call with schema-true arguments, a skill's output, a cut-off), not the words."""

from __future__ import annotations

import json

from ovos_realtime_plugin.bus.dialogs import Dialogs
from tests.fixtures_local_llm import LocalModel
from tests.test_intent_tools import HELLO_WORLD, OVOS_MCP, output_of, reply_text
from tests.test_llm import WEATHER, ask, client, cut_off_story, done, open_session

MODEL_TIMEOUT_S = 120.0
"""A bound on the model's first event: a 270M model on 2 CPU cores reads a prompt with every intent as a tool in
~15 s on a quiet machine, and more than 30 s while other work shares the cores."""


async def test_the_model_answers_what_no_skill_knows(local_model: LocalModel) -> None:
    async with client(local_model.server).realtime.connect(model="gpt-realtime") as conn:
        await open_session(conn, instructions="You are a helpful voice assistant. Answer in one sentence.")
        hello = await ask(conn, "hello world")
        events = await ask(conn, "why is the sky blue", timeout=MODEL_TIMEOUT_S, max_output_tokens=60)
    assert reply_text(hello) == "Hello world"  # a skill's intent: the model is not asked
    answer = reply_text(events)
    response = done(events)
    assert response["status"] in ("completed", "incomplete") and [i["type"] for i in output_of(events)] == ["message"]
    assert answer.strip() and answer not in Dialogs("unknown").variants("en-US")
    assert response["output"][0]["content"][0]["text"] == answer
    assert response["usage"]["output_tokens"] > 0


async def test_a_named_client_function_is_called_with_schema_true_arguments(local_model: LocalModel) -> None:
    async with client(local_model.server).realtime.connect(model="llm") as conn:
        await open_session(conn, tools=[WEATHER])
        events = await ask(conn, "what is the weather like in Oslo", timeout=MODEL_TIMEOUT_S,
                           tool_choice={"type": "function", "name": "get_weather"})
    [item] = output_of(events)
    assert (item["type"], item["name"]) == ("function_call", "get_weather")
    arguments = json.loads(item["arguments"])
    assert isinstance(arguments["city"], str) and arguments["city"]
    deltas = [e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"]
    assert "".join(deltas) == item["arguments"]


async def test_the_model_runs_a_skill_and_goes_on_with_its_output(local_model: LocalModel) -> None:
    async with client(local_model.server).realtime.connect(model="llm") as conn:
        await open_session(conn, tools=[OVOS_MCP])
        events = await ask(conn, "say hello to the world", timeout=MODEL_TIMEOUT_S, max_output_tokens=60,
                           tool_choice={"type": "mcp", "server_label": "ovos", "name": HELLO_WORLD})
    output = output_of(events)
    call = output[0]
    assert (call["type"], call["name"], call["output"], call["error"]) == ("mcp_call", HELLO_WORLD, "Hello world",
                                                                           None)
    assert done(events)["status"] in ("completed", "incomplete")


async def test_max_output_tokens_cuts_the_model_off(local_model: LocalModel) -> None:
    events = await cut_off_story(local_model.server, 4)
    assert reply_text(events).strip()
