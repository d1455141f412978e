"""A small scripted assistant behind the real Assistant interface, for protocol tests.

It answers from the conversation it is given, so tests see real context handling:
- "weather in <city>" → a ``get_weather`` function call (when the tool is offered), and after the
  client's ``function_call_output`` → a sentence that quotes that output;
- "slow" → text deltas released one at a time by ``gate`` (tests cancel mid-stream without sleeps);
- "fail" → raises, as a broken engine would;
- anything else → "You said: <text>." in several deltas.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator

from ovos_realtime_plugin.core.assistant import (
    AssistantBase,
    AssistantOutput,
    AssistantRequest,
    FunctionCallArguments,
    FunctionCallStart,
    TextDelta,
    Usage,
)


class ScriptedAssistant(AssistantBase):
    def __init__(self) -> None:
        self.requests: list[AssistantRequest] = []
        self.gate: asyncio.Queue[None] = asyncio.Queue()
        self.cancelled = asyncio.Event()

    async def respond(self, request: AssistantRequest) -> AsyncIterator[AssistantOutput]:
        self.requests.append(request)
        last = request.items[-1] if request.items else None
        if last is not None and last.type == "function_call_output":
            yield TextDelta(f"The tool said: {last.output}.")
            return
        text = last.text() if last is not None else ""
        tools = {t.get("name") for t in request.tools}
        match = re.search(r"weather in (\w+)", text, re.I)
        if match and "get_weather" in tools and request.tool_choice != "none":
            yield FunctionCallStart("get_weather")
            args = json.dumps({"city": match.group(1)})
            for i in range(0, len(args), 5):
                yield FunctionCallArguments(args[i:i + 5])
            return
        if "fail" in text:
            raise RuntimeError("scripted engine failure")
        if "slow" in text:
            try:
                for word in ("This is part one. ", "This is part two. ", "This is part three."):
                    await self.gate.get()
                    yield TextDelta(word)
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
            return
        if request.instructions:
            yield TextDelta(f"[{request.instructions}] ")
        for word in f"You said: {text}.".split(" "):
            yield TextDelta(word + " ")
        yield Usage(input_tokens=7, output_tokens=5)
