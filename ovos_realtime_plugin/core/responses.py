"""One response's lifecycle: assistant outputs in, ordered output-item events out.

Outputs are queued and applied in order; an audio item is closed only once all its sentences have
been synthesized, so later items wait behind it and every ordering of PROTOCOL.md §5 holds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
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
from ovos_realtime_plugin.core.states import ItemStatus, ResponseStatus, move
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
    closing: bool = False


class ResponseStream:
    def __init__(self, response_id: str, spec: ResponseSpec, conversation: Conversation, mcp_items: bool,
                 emit: Emit, effects: list[Effect], on_done: Callable[[ResponseStream], None],
                 prepared: PreparedSpeech | None = None) -> None:
        self.id = response_id
        self.spec = spec
        self.conversation = conversation
        self.mcp_items = mcp_items
        """Whether the client's dialect shows MCP items (else a server tool's call is only its spoken text)."""
        self._emit = emit
        self._effects = effects
        self._on_done = on_done
        self._prepared = prepared
        """Says which of its sentences were synthesized ahead."""
        self.status = ResponseStatus.IN_PROGRESS
        self.status_details: dict[str, Any] | None = None
        self.output: list[Item] = []
        self.usage: dict[str, Any] | None = None
        self.started = False
        self._open: OpenItem | None = None
        self._queue: deque[Queued] = deque()
        self._seq = 0
        self._reported: Usage | None = None
        self._incomplete: str | None = None
        self._failure: dict[str, Any] | None = None  # an engine failed part of it: it ends as failed
        self._out_tokens = 0
        self.segments: dict[str, list[tuple[int, int]]] = {}

    @property
    def active(self) -> bool:
        return self.status is ResponseStatus.IN_PROGRESS

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
        while self._queue and self.active and not (self._open and self._open.closing):
            self._apply(self._queue.popleft())

    def _apply(self, output: Queued) -> None:
        if isinstance(output, (FunctionCallStart, ServerToolCall, End)):
            self._close()
            if self._open and self._open.closing:
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
                self._finish(ResponseStatus.FAILED, self._failure)
            else:
                self._finish(ResponseStatus.INCOMPLETE if self._incomplete else ResponseStatus.COMPLETED)

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
        if opened.closing and opened.pending == 0:
            self._finish_audio(opened, ItemStatus.COMPLETED)
            self._pump()

    # -- closing --------------------------------------------------------------------------------
    def _close(self, status: ItemStatus = ItemStatus.COMPLETED) -> None:
        """Close the open item; an audio item first waits for its pending sentences (unless cancelled)."""
        opened = self._open
        if opened is None:
            return
        item = opened.item
        if item.type == "message" and opened.part is not None and opened.part.type == "output_audio":
            if status is ItemStatus.COMPLETED:
                rest = opened.splitter.flush()
                if rest:
                    self._speak(opened, rest, len(opened.part.transcript or ""))
                opened.closing = True
                if opened.pending:
                    return
            self._finish_audio(opened, status)
            return
        ids = self._ids(opened)
        if item.type == "message" and opened.part is not None:
            self._emit("response.output_text.done", {**ids, "content_index": 0, "text": opened.part.text or ""})
            self._emit("response.content_part.done", {**ids, "content_index": 0,
                                                      "part": opened.part})
        elif item.type == "function_call" and status is ItemStatus.COMPLETED:
            self._emit("response.function_call_arguments.done",
                       {**ids, "call_id": item.call_id, "name": item.name, "arguments": item.arguments or ""})
        self._item_done(opened, status)

    def _finish_audio(self, opened: OpenItem, status: ItemStatus) -> None:
        ids = {**self._ids(opened), "content_index": 0}
        part = opened.part
        assert part is not None
        self.segments[opened.item.id] = opened.segments
        self._emit("response.output_audio.done", ids)
        self._emit("response.output_audio_transcript.done", {**ids, "transcript": part.transcript or ""})
        self._emit("response.content_part.done", {**ids, "part": part})
        self._item_done(opened, status)

    def _item_done(self, opened: OpenItem, status: ItemStatus) -> None:
        opened.item.status = move(ItemStatus(opened.item.status), status)
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
        self._item_done(opened, ItemStatus.COMPLETED)

    def _finish(self, status: ResponseStatus, details: dict[str, Any] | None = None) -> None:
        self.status = move(self.status, status)
        if status is ResponseStatus.INCOMPLETE:
            details = {"type": "incomplete", "reason": self._incomplete}
        self.status_details = details
        self.usage = response_usage(self.spec.context, self.output, self._reported, self.conversation.tally)
        self._emit("response.done", {"response": self})
        self._on_done(self)

    def fail_when_done(self, details: dict[str, Any]) -> None:
        """Part of the response failed (a sentence could not be spoken): the rest goes on, and it ends as
        ``failed`` with the first such failure in its ``status_details``, as OpenAI reports a failure inside a
        response."""
        if self.active and self._failure is None:
            self._failure = details

    def stop(self, status: ResponseStatus, details: dict[str, Any]) -> None:
        """End now (cancelled or failed): open items close as ``incomplete``; queued output is dropped."""
        if not self.active:
            return
        self._queue.clear()
        self._close(ItemStatus.INCOMPLETE)
        self._finish(status, details)
