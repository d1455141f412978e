"""One response's lifecycle: assistant outputs in, ordered output-item events out.

The response holds its machine (:data:`.states.RESPONSE`): it ``waits`` until the session starts it, then
``runs``. Outputs are queued and applied in order; an audio item is closed only once all its sentences have
been synthesized: meanwhile the response is ``held`` and later items wait behind it, so every ordering of
PROTOCOL.md §5 holds.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ovos_realtime_plugin.core import b64
from ovos_realtime_plugin.core.assistant import (
    AssistantOutput,
    FunctionCallArguments,
    FunctionCallStart,
    Incomplete,
    ServerToolCall,
    TextDelta,
    Usage,
)
from ovos_realtime_plugin.core.conversation import Conversation
from ovos_realtime_plugin.core.effects import Effect, Synthesize
from ovos_realtime_plugin.core.events import Emit
from ovos_realtime_plugin.core.formats import AudioFormat
from ovos_realtime_plugin.core.ids import new_id
from ovos_realtime_plugin.core.items import Content, Item
from ovos_realtime_plugin.core.prepared_speech import PreparedSpeech
from ovos_realtime_plugin.core.sentences import SentenceSplitter
from ovos_realtime_plugin.core.states import (
    RESPONSE,
    RESPONSE_STATUS,
    ItemStatus,
    ItemTrigger,
    Machine,
    ResponseState,
    ResponseStatus,
    ResponseTrigger,
)
from ovos_realtime_plugin.core.usage import estimate_tokens, response_usage


@dataclass(frozen=True)
class End:
    """Queued after the assistant's last output: the response finishes once everything before it has."""


Queued = AssistantOutput | End


@dataclass(frozen=True)
class ResponseSpec:
    """The effective settings of one response: the session's, with the response's overrides laid over."""

    modalities: tuple[str, ...]
    instructions: str
    tools: tuple[dict[str, Any], ...]
    tool_choice: str | dict[str, Any]
    max_output_tokens: int | None
    voice: str
    speed: float
    format: AudioFormat
    metadata: dict[str, str] | None
    temperature: float | None
    parallel_tool_calls: bool
    language: str | None
    context: tuple[Item, ...]
    in_conversation: bool = True

    @property
    def audio(self) -> bool:
        return "audio" in self.modalities


@dataclass
class OpenItem:
    """The output item being streamed."""

    item: Item
    index: int
    part: Content | None = None
    splitter: SentenceSplitter = field(default_factory=SentenceSplitter)
    sentence_ends: dict[int, int] = field(default_factory=dict)
    segments: list[tuple[int, int]] = field(default_factory=list)
    pending: int = 0
    """Its sentences out for synthesis (a count, not a state: the response is ``held`` while it closes)."""


class ResponseStream:
    def __init__(self, response_id: str, spec: ResponseSpec, conversation: Conversation, mcp_items: bool,
                 emit: Emit, effects: list[Effect], prepared: PreparedSpeech | None = None) -> None:
        self.id = response_id
        self.spec = spec
        self.conversation = conversation
        self.mcp_items = mcp_items
        """Whether the client's dialect shows MCP items (else a server tool's call is only its spoken text)."""
        self._emit = emit
        self._effects = effects
        self.life: Machine[ResponseState, ResponseTrigger] = Machine(RESPONSE, ResponseState.WAITING)
        self._prepared = prepared
        """Says which of its sentences were synthesized ahead."""
        self.status_details: dict[str, Any] | None = None
        self.output: list[Item] = []
        self.usage: dict[str, Any] | None = None
        self._open: OpenItem | None = None
        self._queue: deque[Queued] = deque()
        self._seq = 0
        self._reported: Usage | None = None
        self._incomplete: str | None = None
        self._failure: dict[str, Any] | None = None  # an engine failed part of it: it ends as failed
        self._out_tokens = 0
        self.segments: dict[str, list[tuple[int, int]]] = {}

    @property
    def state(self) -> ResponseState:
        return self.life.state

    @property
    def status(self) -> ResponseStatus:
        """What a client sees of :attr:`state`."""
        return RESPONSE_STATUS[self.life.state]

    @property
    def active(self) -> bool:
        """Not finished (waiting, running or held)."""
        return self.status is ResponseStatus.IN_PROGRESS

    @property
    def waiting(self) -> bool:
        """Created, its assistant not yet asked (a transcript of its context is awaited)."""
        return self.life.state is ResponseState.WAITING

    def start(self) -> None:
        """The session asks its assistant now: outputs may come."""
        self.life.fire(ResponseTrigger.START)
        self._pump()

    def _ids(self, opened: OpenItem) -> dict[str, Any]:
        return {"response_id": self.id, "item_id": opened.item.id, "output_index": opened.index}

    # -- assistant outputs ----------------------------------------------------------------------
    def feed(self, output: AssistantOutput) -> None:
        if self.active:
            self._queue.append(output)
            self._pump()

    def end(self) -> None:
        if self.active:
            self._queue.append(End())
            self._pump()

    def _pump(self) -> None:
        while self._queue and self.life.state is ResponseState.RUNNING:
            self._apply(self._queue.popleft())

    def _apply(self, output: Queued) -> None:
        if isinstance(output, (FunctionCallStart, ServerToolCall, End)):
            self._close()
            if self.life.state is ResponseState.HELD:
                self._queue.appendleft(output)  # go on once the spoken item has finished
                return
        if isinstance(output, TextDelta):
            self._text(output.text, output.utterance_end)
        elif isinstance(output, FunctionCallStart):
            item = Item(id=new_id("item"), type="function_call", status=ItemStatus.IN_PROGRESS, name=output.name,
                        call_id=output.call_id or new_id("call"), arguments="")
            self._add(item)
        elif isinstance(output, FunctionCallArguments):
            opened = self._open
            if opened is None or opened.item.type != "function_call":
                return
            opened.item.arguments = (opened.item.arguments or "") + output.delta
            self._emit("response.function_call_arguments.delta",
                       {**self._ids(opened), "call_id": opened.item.call_id, "delta": output.delta})
        elif isinstance(output, ServerToolCall):
            self._server_tool(output)
        elif isinstance(output, Usage):
            self._reported = output
        elif isinstance(output, Incomplete):
            self._incomplete = output.reason
        elif isinstance(output, End):
            if self._failure is not None:
                self._finish(ResponseTrigger.FAIL, self._failure)
            else:
                self._finish(ResponseTrigger.RUN_OUT if self._incomplete else ResponseTrigger.COMPLETE)

    def _add(self, item: Item) -> OpenItem:
        self.output.append(item)
        opened = OpenItem(item, len(self.output) - 1)
        self._open = opened
        self._emit("response.output_item.added",
                   {"response_id": self.id, "output_index": opened.index, "item": item})
        if self.spec.in_conversation:
            previous = self.conversation.insert(item)
            self._emit("conversation.item.added", {"previous_item_id": previous, "item": item})
        return opened

    def _text(self, text: str, utterance_end: bool = False) -> None:
        if self.spec.max_output_tokens is not None:
            room = self.spec.max_output_tokens - self._out_tokens
            if estimate_tokens(text) > room:
                text = text[: max(0, room) * 4]
                self._incomplete = "max_output_tokens"
                self._queue.clear()
                self._queue.append(End())
        if not text:
            return
        self._out_tokens += estimate_tokens(text)
        opened = self._open
        if opened is None or opened.item.type != "message":
            self._close()
            opened = self._add(Item(id=new_id("item"), type="message", status=ItemStatus.IN_PROGRESS,
                                    role="assistant"))
            audio = self.spec.audio
            part = Content(type="output_audio" if audio else "output_text", text=None if audio else "",
                           transcript="" if audio else None, audio=bytearray() if audio else None,
                           audio_format=self.spec.format if audio else None)
            opened.item.content.append(part)
            opened.part = part
            self._emit("response.content_part.added",
                       {**self._ids(opened), "content_index": 0, "part": part})
        current = opened.part
        assert current is not None
        part = current
        if part.type == "output_text":
            part.text = (part.text or "") + text
            self._emit("response.output_text.delta", {**self._ids(opened), "content_index": 0, "delta": text})
            return
        part.transcript = (part.transcript or "") + text
        self._emit("response.output_audio_transcript.delta", {**self._ids(opened), "content_index": 0,
                                                               "delta": text})
        for sentence in opened.splitter.feed(text):
            self._speak(opened, sentence, len(part.transcript) - opened.splitter.pending_chars)
        rest = opened.splitter.flush() if utterance_end else ""
        if rest:
            self._speak(opened, rest, len(part.transcript))

    def _speak(self, opened: OpenItem, sentence: str, transcript_end: int) -> None:
        self._seq += 1
        opened.pending += 1
        opened.sentence_ends[self._seq] = transcript_end
        spec = self.spec
        synthesize = Synthesize(self.id, opened.item.id, self._seq, sentence, spec.voice, spec.speed, spec.language,
                                spec.format)
        self._effects.append(synthesize if self._prepared is None else self._prepared.mark(spec.context, synthesize))

    # -- speech results -----------------------------------------------------------------------
    def speech_audio(self, item_id: str, audio: bytes) -> None:
        opened = self._open
        if not self.active or opened is None or opened.item.id != item_id or opened.part is None or not audio:
            return
        assert opened.part.audio is not None
        opened.part.audio.extend(audio)
        self._emit("response.output_audio.delta", {**self._ids(opened), "content_index": 0,
                                                    "delta": b64.encode(audio)})

    def speech_end(self, item_id: str, seq: int) -> None:
        opened = self._open
        if not self.active or opened is None or opened.item.id != item_id or seq not in opened.sentence_ends:
            return
        opened.pending -= 1
        assert opened.part is not None and opened.part.audio is not None
        opened.segments.append((len(opened.part.audio), opened.sentence_ends.pop(seq)))
        if self.life.state is ResponseState.HELD and opened.pending == 0:
            self._finish_audio(opened, ItemTrigger.DONE)
            self.life.fire(ResponseTrigger.RELEASE)
            self._pump()

    # -- closing --------------------------------------------------------------------------------
    def _close(self, trigger: ItemTrigger = ItemTrigger.DONE) -> None:
        """Close the open item; an audio item first waits for its pending sentences (unless cut short): the
        response is held meanwhile."""
        opened = self._open
        if opened is None:
            return
        item = opened.item
        if item.type == "message" and opened.part is not None and opened.part.type == "output_audio":
            if trigger is ItemTrigger.DONE:
                rest = opened.splitter.flush()
                if rest:
                    self._speak(opened, rest, len(opened.part.transcript or ""))
                if opened.pending:
                    self.life.fire(ResponseTrigger.HOLD)
                    return
            self._finish_audio(opened, trigger)
            return
        ids = self._ids(opened)
        if item.type == "message" and opened.part is not None:
            self._emit("response.output_text.done", {**ids, "content_index": 0, "text": opened.part.text or ""})
            self._emit("response.content_part.done", {**ids, "content_index": 0,
                                                      "part": opened.part})
        elif item.type == "function_call" and trigger is ItemTrigger.DONE:
            self._emit("response.function_call_arguments.done",
                       {**ids, "call_id": item.call_id, "name": item.name, "arguments": item.arguments or ""})
        self._item_done(opened, trigger)

    def _finish_audio(self, opened: OpenItem, trigger: ItemTrigger) -> None:
        ids = {**self._ids(opened), "content_index": 0}
        part = opened.part
        assert part is not None
        self.segments[opened.item.id] = opened.segments
        self._emit("response.output_audio.done", ids)
        self._emit("response.output_audio_transcript.done", {**ids, "transcript": part.transcript or ""})
        self._emit("response.content_part.done", {**ids, "part": part})
        self._item_done(opened, trigger)

    def _item_done(self, opened: OpenItem, trigger: ItemTrigger) -> None:
        opened.item.life.fire(trigger)
        if self.spec.in_conversation and opened.item.id in self.conversation:
            self._emit("conversation.item.done", {"item": opened.item})
        self._emit("response.output_item.done",
                   {"response_id": self.id, "output_index": opened.index, "item": opened.item})
        self._open = None

    def _server_tool(self, call: ServerToolCall) -> None:
        if not self.mcp_items:
            return  # the tool's spoken output still streams as text
        item = Item(id=new_id("mcp"), type="mcp_call", status=ItemStatus.IN_PROGRESS, name=call.name,
                    server_label=call.server_label, arguments="")
        opened = self._add(item)
        base = {"item_id": item.id, "output_index": opened.index}
        self._emit("response.mcp_call_arguments.delta", {**base, "response_id": self.id, "delta": call.arguments})
        item.arguments = call.arguments
        self._emit("response.mcp_call_arguments.done", {**base, "response_id": self.id,
                                                        "arguments": call.arguments})
        self._emit("response.mcp_call.in_progress", base)
        item.output = call.output
        if call.error is not None:
            item.error = {"type": "tool_execution_error", "message": call.error}
            self._emit("response.mcp_call.failed", base)
        else:
            self._emit("response.mcp_call.completed", base)
        self._item_done(opened, ItemTrigger.DONE)

    def _finish(self, trigger: ResponseTrigger, details: dict[str, Any] | None = None) -> None:
        if self.life.fire(trigger) is ResponseState.INCOMPLETE:
            details = {"type": "incomplete", "reason": self._incomplete}
        self.status_details = details
        self.usage = response_usage(self.spec.context, self.output, self._reported, self.conversation.tally)
        self._emit("response.done", {"response": self})

    def fail_when_done(self, details: dict[str, Any]) -> None:
        """Part of the response failed (a sentence could not be spoken): the rest goes on, and it ends as
        ``failed`` with the first such failure in its ``status_details``, as OpenAI reports a failure inside a
        response."""
        if self.active and self._failure is None:
            self._failure = details

    def stop(self, status: ResponseStatus, details: dict[str, Any]) -> None:
        """End now (``cancelled`` or ``failed``): open items close as ``incomplete``; queued output is dropped."""
        if not self.active:
            return
        self._queue.clear()
        self._close(ItemTrigger.CUT)
        self._finish(_STOPS[status], details)


_STOPS = {ResponseStatus.CANCELLED: ResponseTrigger.CANCEL, ResponseStatus.FAILED: ResponseTrigger.FAIL}
"""How a response is stopped, by the status it ends with."""
