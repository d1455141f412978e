"""LlmAssistant: a Realtime response answered by a chat model, with the OVOS intents as its tools.

One response is one or more completions (rounds):

| the model's round ends with      | we                                                                  |
|-----------------------------------|---------------------------------------------------------------------|
| text (``stop``)                   | stream it as ``TextDelta`` (→ sentence-by-sentence TTS); done       |
| ``length`` / ``content_filter``   | ``Incomplete("max_output_tokens" / "content_filter")``; done        |
| a call to a client function       | ``FunctionCallStart`` + argument deltas as they stream; the response |
|                                   | ends there (the client runs it and asks for the next response)      |
| a call to an OVOS intent          | run it on the bus (:meth:`OvosAssistant.run_intent`); an ``mcp_call``|
| (``<skill>__<intent>``)           | item when the session declared the ``ovos`` MCP tool; its speech is |
|                                   | the tool output the model reads; next round                         |

Intent failures, timeouts and unknown tool names become tool outputs the model reads. After
``max_tool_rounds`` rounds with intent calls, the last round offers no tools (``tool_choice: none``).
A named or ``required`` tool_choice applies to the first round only, as on OpenAI. Usage is summed
over the rounds. Cancelling the iteration closes the HTTP stream of the round in progress.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from openai.types.chat.chat_completion_chunk import ChoiceDeltaToolCall

from ovos_realtime_plugin.bus.errors import BusError
from ovos_realtime_plugin.bus.intent_runs import IntentRun
from ovos_realtime_plugin.bus.intents import IntentCatalogue, UnknownIntentError, allowed_tool_names
from ovos_realtime_plugin.bus.permissions import Access, permitted
from ovos_realtime_plugin.bus.tool_calls import mcp_tool_of
from ovos_realtime_plugin.core.assistant import (
    AssistantBase,
    AssistantOutput,
    AssistantRequest,
    FunctionCallArguments,
    FunctionCallStart,
    Incomplete,
    ServerToolCall,
    TextDelta,
    Usage,
)
from ovos_realtime_plugin.llm.backend import ChatBackend
from ovos_realtime_plugin.llm.messages import (
    ChatMessage,
    chat_messages,
    chat_tool,
    chat_tool_choice,
    client_functions,
    parse_arguments,
    tool_call,
    tool_calls_message,
)
from ovos_realtime_plugin.llm.settings import LlmSettings

logger = logging.getLogger(__name__)
STOPS = {"length": "max_output_tokens", "content_filter": "content_filter"}


class IntentRunner(Protocol):
    """Runs an OVOS intent by tool name in the connection's session (:class:`OvosAssistant`)."""

    async def run_intent(self, name: str, arguments: Mapping[str, Any] | None = None, *, lang: str | None = None,
                         utterance: str | None = None) -> IntentRun: ...

    def close(self) -> None: ...


@dataclass
class _Call:
    """A tool call of the round, as its deltas arrive."""

    id: str = ""
    name: str = ""
    arguments: str = ""
    client: bool | None = None
    """None until the name is known: a client function (streamed) or a server-side one (run here)."""


@dataclass
class _Round:
    calls: dict[int, _Call] = field(default_factory=dict)
    text: str = ""
    finish: str | None = None
    live: int | None = None
    """The index of the client call whose arguments stream as they come: the round's first. Servers may
    interleave parallel calls' deltas, and a ``function_call`` item's deltas cannot be told apart once the
    next item began, so the others are emitted whole when the round ends."""


class LlmAssistant(AssistantBase):
    """The :class:`~ovos_realtime_plugin.core.assistant.Assistant` of one Realtime connection."""

    def __init__(self, backend: ChatBackend, settings: LlmSettings, *, intents: IntentCatalogue | None = None,
                 runner: IntentRunner | None = None, mcp_server_label: str = "ovos", access: Access | None = None):
        self._backend = backend
        self._settings = settings
        self._intents = intents if runner is not None and settings.intent_tools else None
        self._runner = runner
        self._label = mcp_server_label
        self._access = access
        """What this client's API key may reach: the intents offered as tools are only those it allows."""

    def close(self) -> None:
        """The connection is gone: so is the OVOS session the intents ran in."""
        if self._runner is not None:
            self._runner.close()

    async def respond(self, request: AssistantRequest) -> AsyncIterator[AssistantOutput]:
        settings = self._settings
        messages = chat_messages(request.items, request.instructions)
        functions = client_functions(request.tools)
        mcp = mcp_tool_of(request, self._label)
        intents = self._intent_tools(request, mcp)
        tools = [*functions.values(), *intents.values()]
        choice: str | dict[str, Any] = chat_tool_choice(request.tool_choice)
        used_in = used_out = 0
        reported = False
        said = ""
        retried = False
        number = 0
        while number <= settings.max_tool_rounds:
            budget = None if request.max_output_tokens is None else request.max_output_tokens - used_out
            if budget is not None and budget <= 0:
                yield Incomplete("max_output_tokens")
                break
            if number == settings.max_tool_rounds and tools:
                choice = "none"
            turn = _Round()
            async with self._backend.stream(messages, tools=tools, tool_choice=choice, max_tokens=budget,
                                            temperature=request.temperature,
                                            parallel_tool_calls=request.parallel_tool_calls) as chunks:
                async for chunk in chunks:
                    if chunk.usage is not None:
                        used_in += chunk.usage.prompt_tokens
                        used_out += chunk.usage.completion_tokens
                        reported = True
                    for part in chunk.choices[:1]:
                        delta = part.delta
                        if delta.content:
                            text = delta.content
                            if said and not turn.text and not said[-1].isspace() and not text[0].isspace():
                                text = " " + text  # a new round's text after an earlier round's
                            turn.text += text
                            yield TextDelta(text)
                        for call_delta in delta.tool_calls or ():
                            for output in self._tool_call_delta(turn, call_delta, functions):
                                yield output
                        if part.finish_reason:
                            turn.finish = part.finish_reason
            if not reported:
                used_out += max(1, len(turn.text) // 4) if turn.text else 0
            said += turn.text
            if not turn.text and not turn.calls and tools and choice in ("auto", "none") and not retried \
                    and turn.finish not in STOPS:
                # small local models (and llama-cpp-python's function-calling template) may say nothing at all
                # when tools are offered: ask once more without them, so the user hears an answer
                logger.info("response %s: the model said nothing with tools offered; asking without them",
                            request.response_id)
                retried, tools, choice = True, [], "none"
                continue  # the same round again
            if turn.finish in STOPS:
                yield Incomplete(STOPS[turn.finish])
                break
            for output in self._round_calls(turn, functions):
                yield output
            server_calls = [c for c in turn.calls.values() if not c.client]
            for i, call in enumerate(server_calls):
                call.id = call.id or f"call_{number}_{i}"  # a server that gave none: the model still needs one
            if server_calls:
                asked = [tool_call(c.id, c.name, c.arguments) for c in server_calls]
                messages.append(tool_calls_message(turn.text, asked))
                for call in server_calls:
                    result, shown = await self._run(call, request, intents, mcp)
                    if shown is not None:
                        yield shown
                    messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
            if len(server_calls) < len(turn.calls) or not server_calls:
                break  # a client function call ends the response; so does an answer
            if choice != "none":
                choice = "auto"
            number += 1
        if reported:
            yield Usage(used_in, used_out)

    def _tool_call_delta(self, turn: _Round, delta: ChoiceDeltaToolCall,
                         functions: Mapping[str, Any]) -> list[AssistantOutput]:
        call = turn.calls.setdefault(delta.index, _Call())
        call.id = call.id or delta.id or ""
        args = ""
        if delta.function is not None:
            name = delta.function.name or ""
            if name != call.name:  # llama-cpp-python repeats the whole name in every delta; others send it once
                call.name += name
            args = delta.function.arguments or ""
        call.arguments += args
        if call.client is None and call.name and args:
            call.client = call.name in functions  # the name is whole once arguments follow
        if not call.client:
            return []
        if turn.live is None:
            turn.live = delta.index
            return self._whole(call)
        if turn.live == delta.index and args:
            return [FunctionCallArguments(args)]
        return []

    def _round_calls(self, turn: _Round, functions: Mapping[str, Any]) -> list[AssistantOutput]:
        """At the round's end: the client calls not streamed live, whole, in the model's order."""
        outputs: list[AssistantOutput] = []
        for index in sorted(turn.calls):
            call = turn.calls[index]
            if call.client is None:
                call.client = call.name in functions
            if call.client and index != turn.live:
                if turn.live is None:
                    turn.live = index
                outputs += self._whole(call)
        return outputs

    @staticmethod
    def _whole(call: _Call) -> list[AssistantOutput]:
        return [FunctionCallStart(call.name, call.id or None),
                *([FunctionCallArguments(call.arguments)] if call.arguments else [])]

    def _intent_tools(self, request: AssistantRequest, mcp: Mapping[str, Any] | None) -> dict[str, ChatMessage]:
        if self._intents is None:
            return {}
        allowed = allowed_tool_names(mcp) if mcp is not None else None
        return {t.name: chat_tool(t.name, t.description, t.input_schema())
                for t in permitted(self._access, self._intents.tools(), allowed)}

    async def _run(self, call: _Call, request: AssistantRequest, intents: Mapping[str, Any],
                   mcp: Mapping[str, Any] | None) -> tuple[str, ServerToolCall | None]:
        """Run an intent call: (the tool output the model reads, the ``mcp_call`` to show or None)."""
        if call.name not in intents or self._runner is None:
            return json.dumps({"error": f"there is no tool named {call.name!r}"}), None
        spoken = error = None
        try:
            arguments = parse_arguments(call.arguments)
            run = await asyncio.wait_for(
                self._runner.run_intent(call.name, arguments, lang=request.language), self._settings.tool_timeout_s)
            spoken, error = run.text, run.error
        except asyncio.TimeoutError:
            error = f"the skill did not answer within {self._settings.tool_timeout_s:g} s"
        except (UnknownIntentError, ValueError, BusError) as exc:
            error = str(exc) or type(exc).__name__
        logger.info("response %s: OVOS intent %s(%s) → %s", request.response_id, call.name, call.arguments,
                    f"error: {error}" if error else repr(spoken))
        shown = None if mcp is None else ServerToolCall(self._label, call.name, call.arguments or "{}",
                                                        spoken or None, error)
        result = json.dumps({"error": error} if error else {"spoken": spoken or ""}, ensure_ascii=False)
        return result, shown
