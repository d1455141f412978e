"""The Realtime session: client events and engine results in; server events and effects out.

No I/O happens here. The driver (``server.connection``) calls :meth:`SessionCore.handle` for each
client event and the ``on_*`` methods for engine results, then sends :meth:`pop_events` and carries out
:meth:`pop_effects`. Every ordering rule lives here, so the driver never needs to sleep or race.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from ovos_realtime_plugin.core import client_events as ce
from ovos_realtime_plugin.core import items_in, server_tools
from ovos_realtime_plugin.core.assistant import AssistantOutput, AssistantRequest, ToolLister
from ovos_realtime_plugin.core.audio_buffer import InputAudioBuffer
from ovos_realtime_plugin.core.config import (
    RealtimeSessionConfig,
    SessionConfig,
    TranscriptionSessionConfig,
    deep_merge,
    voice_name,
)
from ovos_realtime_plugin.core.conversation import Conversation
from ovos_realtime_plugin.core.effects import Anticipate, CancelResponse, Effect, RunAssistant
from ovos_realtime_plugin.core.errors import ProtocolError, server_error
from ovos_realtime_plugin.core.events import EventRenderer, SessionView, Validate, WithAudio
from ovos_realtime_plugin.core.ids import new_id
from ovos_realtime_plugin.core.input_audio import InputAudio
from ovos_realtime_plugin.core.items import ITEM_ID
from ovos_realtime_plugin.core.limits import SessionLimits
from ovos_realtime_plugin.core.prepared_speech import AnticipatedTurn, PreparedSpeech
from ovos_realtime_plugin.core.ratelimit import RateLimiter, RateLimitSettings
from ovos_realtime_plugin.core.responses import ResponseStream
from ovos_realtime_plugin.core.states import ResponseStatus, TranscriptState
from ovos_realtime_plugin.core.stt import TokenLogprob
from ovos_realtime_plugin.core.transcripts import Transcripts
from ovos_realtime_plugin.core.truncation import oldest_to_drop
from ovos_realtime_plugin.core.turns import TurnDetector

log = logging.getLogger(__name__)
SESSION_TTL_S = 3600


class SessionCore:
    """One Realtime connection's state: the conversation and responses here; input audio and transcripts
    in their own parts (:attr:`input`, :attr:`transcripts`), which reach the session through small host
    interfaces this class implements."""

    def __init__(self, *, renderer: EventRenderer, validate: Validate, kind: str = "realtime",
                 model: str = "gpt-realtime", clock: Callable[[], float], limits: RateLimitSettings | None = None,
                 defaults: dict[str, Any] | None = None, language: str | None = None,
                 early_transcripts: bool = True, session_limits: SessionLimits | None = None) -> None:
        self.id = new_id("sess")
        self.session_limits = session_limits or SessionLimits()
        self._items_seen = 0
        self.early_transcripts = early_transcripts
        self.renderer = renderer
        """The edge's: renders each event in the connection's dialect as it is emitted."""
        self._validate = validate
        self.clock = clock
        self.language = language
        base: dict[str, Any] = {"type": kind}
        if kind == "realtime":
            base["model"] = model
        config_cls = RealtimeSessionConfig if kind == "realtime" else TranscriptionSessionConfig
        self.config: SessionConfig = validate(config_cls, deep_merge(base, defaults or {}), "session")
        self.conversation = Conversation(new_id("conv"))
        self.limiter = RateLimiter(limits or RateLimitSettings())
        self.responses: dict[str, ResponseStream] = {}
        self.audio_out_started = False
        self.expires_at = int(clock()) + SESSION_TTL_S
        self._events: list[dict[str, Any]] = []
        self._effects: list[Effect] = []
        self._waiting: list[ResponseStream] = []  # responses waiting for transcripts of their context
        self.prepared_speech = PreparedSpeech(self._effects)
        self.tool_lister: ToolLister | None = None
        """Lists the tools of ``mcp`` tools the client declares (set by whoever makes the assistant)."""
        self.access: Any = None
        """What the client's API key may reach (set by the server, read by whoever makes the assistant)."""
        self.segments: dict[str, list[tuple[int, int]]] = {}  # audio item → (audio end, transcript end) per sentence
        self.transcripts = Transcripts(self)
        self.input = InputAudio(self, self.transcripts)

    # -- plumbing -------------------------------------------------------------------------------
    def emit(self, kind: str, fields: dict[str, Any]) -> None:
        self._events.extend(self.renderer.render(kind, fields))

    def effect(self, effect: Effect) -> None:
        self._effects.append(effect)

    def pop_events(self) -> list[dict[str, Any]]:
        if len(self.conversation) != self._items_seen:
            self._truncate_conversation()
        events, self._events = self._events, []
        return events

    def pop_effects(self) -> list[Effect]:
        effects = list(self._effects)
        self._effects.clear()
        return effects

    def error(self, err: ProtocolError, client_event_id: str | None = None) -> None:
        self.emit("error", {"error": err.payload(client_event_id)})

    @property
    def model(self) -> str:
        """The session's ``model`` (a transcription session has none: ``""``)."""
        return getattr(self.config, "model", None) or ""

    def start(self) -> None:
        """The connection is open: announce the session."""
        self._emit_session("session.created")
        if self.config.type == "realtime":
            self.emit("conversation.created", {"conversation": {"id": self.conversation.id,
                                                                "object": "realtime.conversation"}})

    def _emit_session(self, kind: str) -> None:
        self.emit(kind, {"session": SessionView(self.config, self.id, self.expires_at)})

    def _renderable_session(self, config: SessionConfig) -> list[dict[str, Any]]:
        """``session.updated`` for ``config`` as the wire shows it; an update that cannot be sent is refused,
        never stored."""
        rendered = self.renderer.render("session.updated",
                                        {"session": SessionView(config, self.id, self.expires_at)})
        try:
            json.dumps(rendered)
        except (RecursionError, ValueError, TypeError) as exc:
            raise ProtocolError("invalid_value", f"Invalid session: it cannot be rendered ({exc}).",
                                "session") from None
        return rendered

    # -- client events --------------------------------------------------------------------------
    def handle(self, event: ce.ClientEvent) -> None:
        """Apply one client event. A bad one is answered with one ``error`` and changes nothing."""
        try:
            self._dispatch(event)
        except ProtocolError as err:
            self.error(err, event.event_id)

    def _dispatch(self, event: ce.ClientEvent) -> None:
        if isinstance(event, ce.SessionUpdate):
            self._session_update(event.session)
        elif isinstance(event, ce.AudioAppend):
            self.input.append(event.audio)
        elif isinstance(event, ce.AudioCommit):
            self.input.commit()
        elif isinstance(event, ce.AudioClear):
            self.input.clear()
        elif isinstance(event, ce.ItemCreate):
            self._item_create(event)
        elif isinstance(event, ce.ItemRetrieve):
            item = self.conversation.get(event.item_id)
            self.emit("conversation.item.retrieved", {"item": WithAudio(item)})
        elif isinstance(event, ce.ItemDelete):
            self.conversation.delete(event.item_id)
            self.emit("conversation.item.deleted", {"item_id": event.item_id})
        elif isinstance(event, ce.ItemTruncate):
            items_in.truncate(self, event)
        elif isinstance(event, ce.ResponseCreate):
            self.create_response(event.response or ce.ResponseParams())
        elif isinstance(event, ce.ResponseCancel):
            self._cancel(event.response_id)

    def _session_update(self, update: dict[str, Any]) -> None:
        kind = update.get("type")
        if kind is None:
            raise ProtocolError("missing_required_parameter", "Missing required parameter: 'session.type'.",
                                "session.type")
        if kind != self.config.type:
            raise ProtocolError("invalid_value", f"Passing a {kind} session update event to a {self.config.type} "
                                                 "session is not allowed.", "session.type")
        cls = type(self.config)
        self._validate(cls, update, "session")
        new: SessionConfig = self._validate(cls, deep_merge(self.config.model_dump(mode="json"), update), "session")
        if isinstance(new, RealtimeSessionConfig) and isinstance(self.config, RealtimeSessionConfig):
            old_voice, new_voice = voice_name(self.config.audio.output.voice), voice_name(new.audio.output.voice)
            if self.audio_out_started and old_voice != new_voice:
                raise ProtocolError("cannot_update_voice", "Cannot update a conversation's voice if assistant "
                                                           "audio is present.", "session.audio.output.voice")
        rendered = self._renderable_session(new)
        before, self.config = self.config, new
        self.input.config_changed()
        self._events.extend(rendered)
        if isinstance(before, RealtimeSessionConfig) and isinstance(new, RealtimeSessionConfig):
            server_tools.list_new_servers(before.tools, new.tools, self.tool_lister, self.conversation,
                                          self.renderer.mcp_items, self.emit)

    def _item_create(self, event: ce.ItemCreate) -> None:
        item = items_in.build_item(self, event.item)
        if event.previous_item_id is not None and event.previous_item_id != "root":
            self.conversation.get(event.previous_item_id, "previous_item_id")
        previous = self.conversation.insert(item, event.previous_item_id)
        self.emit("conversation.item.added", {"previous_item_id": previous, "item": item})
        self.emit("conversation.item.done", {"previous_item_id": previous, "item": item})
        self.transcripts.transcribe_if_needed(item)

    # -- responses ------------------------------------------------------------------------------
    def active_response(self) -> ResponseStream | None:
        for stream in self.responses.values():
            if stream.active and stream.spec.in_conversation:
                return stream
        return None

    def create_response(self, params: ce.ResponseParams) -> None:
        if not isinstance(self.config, RealtimeSessionConfig):
            raise ProtocolError("invalid_value", "Responses are not supported in a transcription session.", "type")
        in_conversation = params.conversation != "none"
        active = self.active_response()
        if in_conversation and active is not None:
            raise ProtocolError("conversation_already_has_active_response",
                                f"Conversation already has an active response in progress: {active.id}. "
                                "Wait until the response is finished before creating a new one.")
        now = self.clock()
        exhausted = self.limiter.check(now)
        if exhausted is not None:
            raise ProtocolError("rate_limit_exceeded",
                                f"Rate limit reached for {exhausted} per minute. Please try again in "
                                f"{self.limiter.reset_seconds(now, exhausted):.1f}s.", None, "rate_limit_error")
        self.limiter.record_request(now)
        spec = items_in.response_spec(self, params)
        self.prepared_speech.response_started(spec.context)
        stream = ResponseStream(new_id("resp"), spec, self.conversation, self.renderer.mcp_items, self.emit,
                                self._effects, self._response_done, self.prepared_speech)
        self.responses[stream.id] = stream
        self.emit("response.created", {"response": stream})
        self._waiting.append(stream)
        self.start_ready_responses()

    def create_response_auto(self) -> None:
        """A response the server starts itself (turn detection); problems are reported, not raised."""
        try:
            self.create_response(ce.ResponseParams())
        except ProtocolError as err:
            self.error(err)

    def start_ready_responses(self) -> None:
        """Run the assistant for responses whose context has every transcript it needs."""
        for stream in list(self._waiting):
            if not stream.active:
                self._waiting.remove(stream)
            elif not self.transcripts.waiting_for(stream.spec.context):
                self._waiting.remove(stream)
                self._run_or_fail(stream)

    def _run_or_fail(self, stream: ResponseStream) -> None:
        """Run the assistant, unless the turn it answers is speech whose transcription failed: the assistant
        would hear nothing, so the response fails with that error (already reported with the transcript)."""
        context = stream.spec.context
        error = self.transcripts.failed.get(context[-1].id) if context else None
        if error is not None:
            _stop_failed(stream, error)
        else:
            self.effect(RunAssistant(self._request(stream)))

    def _request(self, stream: ResponseStream) -> AssistantRequest:
        spec = stream.spec
        return AssistantRequest(
            response_id=stream.id, items=spec.context, instructions=spec.instructions, tools=spec.tools,
            tool_choice=spec.tool_choice, output_modalities=spec.modalities,
            max_output_tokens=spec.max_output_tokens, temperature=spec.temperature,
            parallel_tool_calls=spec.parallel_tool_calls, metadata=spec.metadata, language=spec.language,
            voice=spec.voice, session_id=self.id, model=self.model)

    def _truncate_conversation(self) -> None:
        """Past the conversation's limits the oldest items go, as ``truncation`` says; never one in use: being
        transcribed, or the context or output of a running response."""
        def busy() -> set[str]:  # asked only when something has to go
            in_use = set(self.pending_transcripts)
            for stream in self.responses.values():
                in_use.update(map(ITEM_ID, stream.spec.context), map(ITEM_ID, stream.output))
            return in_use

        truncation = getattr(self.config, "truncation", "auto")
        for item_id in oldest_to_drop(self.conversation.items, truncation, self.session_limits, busy,
                                      self.conversation.size):
            self.conversation.delete(item_id)
            self.emit("conversation.item.deleted", {"item_id": item_id})
        self._items_seen = len(self.conversation)

    def _response_done(self, stream: ResponseStream) -> None:
        now = self.clock()
        if stream.usage:
            self.limiter.record_tokens(now, int(stream.usage["total_tokens"]))
        self.segments.update(stream.segments)
        self.responses.pop(stream.id, None)
        self.emit("rate_limits.updated", {"rate_limits": self.limiter.report(now)})
        self.input.response_finished()

    def _cancel(self, response_id: str | None) -> None:
        stream = self.responses.get(response_id) if response_id else self.active_response()
        if stream is None and not response_id:
            stream = next((s for s in self.responses.values() if s.active), None)
        if stream is None or not stream.active:
            raise ProtocolError("response_cancel_not_active", "Cancellation failed: no active response found")
        self.cancel_response(stream, "client_cancelled")

    def cancel_response(self, stream: ResponseStream, reason: str) -> None:
        self.effect(CancelResponse(stream.id))
        stream.stop(ResponseStatus.CANCELLED, {"type": "cancelled", "reason": reason})

    # -- assistant results ----------------------------------------------------------------------
    def on_assistant_output(self, response_id: str, output: AssistantOutput) -> None:
        stream = self.responses.get(response_id)
        if stream is not None:
            if stream.spec.audio:
                self.audio_out_started = True
            stream.feed(output)

    def on_assistant_end(self, response_id: str) -> None:
        stream = self.responses.get(response_id)
        if stream is not None:
            stream.end()

    def on_assistant_error(self, response_id: str, message: str, code: str = "server_error") -> None:
        stream = self.responses.get(response_id)
        if stream is None or not stream.active:
            return
        self.effect(CancelResponse(response_id))
        _stop_failed(stream, server_error(message, code))  # reported in its response.done, as OpenAI does

    def on_speech_audio(self, response_id: str, item_id: str, audio: bytes) -> None:
        stream = self.responses.get(response_id)
        if stream is not None:
            stream.speech_audio(item_id, audio)

    def on_speech_error(self, response_id: str, item_id: str, seq: int, message: str) -> None:
        """A sentence could not be spoken: its transcript stays, the response goes on and ends as ``failed`` with
        this error in its ``status_details`` (OpenAI reports failures inside a response there, not as ``error``)."""
        stream = self.responses.get(response_id)
        if stream is not None and stream.active:
            stream.fail_when_done(_failure(server_error(message, "speech_synthesis_failed")))
        else:
            log.warning("a sentence of response %s could not be spoken after it ended: %s", response_id, message)
        self.on_speech_end(response_id, item_id, seq)

    def on_speech_detection_error(self, message: str) -> None:
        """Voice activity detection failed on some input audio: reported as OpenAI reports its own failures outside
        a response (``error``, type and code ``server_error``); turn detection goes on."""
        self.error(server_error(f"Speech detection failed on some input audio: {message}"))

    def on_speech_end(self, response_id: str, item_id: str, seq: int) -> None:
        stream = self.responses.get(response_id)
        if stream is not None:
            stream.speech_end(item_id, seq)

    # -- input audio and transcripts: the driver's entry points -----------------------------------
    @property
    def buffer(self) -> InputAudioBuffer:
        return self.input.buffer

    @property
    def detector(self) -> TurnDetector | None:
        return self.input.detector

    @property
    def pending_transcripts(self) -> dict[str, TranscriptState]:
        return self.transcripts.pending

    def on_speech_frames(self, start_ms: int, frame_ms: int, probabilities: list[float]) -> None:
        """VAD results for consecutive frames starting at ``start_ms`` of the input stream."""
        self.input.on_speech_frames(start_ms, frame_ms, probabilities)

    def transcript_wanted(self, item_id: str, attempt: int) -> bool:
        return self.transcripts.wanted(item_id, attempt)

    def on_transcript_delta(self, item_id: str, delta: str, logprobs: tuple[TokenLogprob, ...] | None = None) -> None:
        self.transcripts.on_delta(item_id, delta, logprobs)

    def on_transcript(self, item_id: str, text: str, audio_seconds: float, attempt: int = 0,
                      logprobs: tuple[TokenLogprob, ...] | None = None) -> None:
        self.transcripts.on_result(item_id, text, audio_seconds, attempt, logprobs)

    def on_transcript_error(self, item_id: str, message: str, attempt: int = 0) -> None:
        self.transcripts.on_error(item_id, message, attempt)

    # -- what the parts ask of the session (InputAudioHost, TranscriptHost) -------------------------
    def responding(self) -> bool:
        return self.active_response() is not None

    def user_started_speaking(self) -> None:
        td = self.config.audio.input.turn_detection
        active = self.active_response()
        if active is not None and td is not None and td.interrupt_response:
            self.cancel_response(active, "turn_detected")

    def turn_ended(self) -> None:
        if self.active_response() is None:
            self.create_response_auto()

    def transcript_ended(self) -> None:
        self.start_ready_responses()

    def early_words(self, text: str) -> None:
        item_id = self.input.turn_item
        if self.input.early_words(text) and self.active_response() is None and item_id is not None:
            spec = items_in.response_spec(self, ce.ResponseParams())  # what the response would be made with
            self.prepared_speech.anticipate(AnticipatedTurn(item_id, spec.voice, spec.speed, spec.language,
                                                            spec.audio))
            self.effect(Anticipate(text, item_id, spec.language, spec.voice, spec.speed, spec.audio, spec.tools,
                                   spec.tool_choice, self.model))

    def early_answer(self, item_id: str, text: str) -> None:
        """The assistant answered the paused turn ``item_id`` before it ended, saying ``text``: its first sentences
        are synthesized ahead for the response to that turn (:class:`~.prepared_speech.PreparedSpeech`)."""
        self.prepared_speech.early_answer(item_id, text)


def _failure(error: ProtocolError) -> dict[str, Any]:
    """A response's ``status_details`` for ``error``."""
    return {"type": "failed", "error": {k: v for k, v in error.body().items() if k != "param"}}


def _stop_failed(stream: ResponseStream, error: ProtocolError) -> None:
    """End ``stream`` as ``failed`` with ``error`` in its status details."""
    stream.stop(ResponseStatus.FAILED, _failure(error))
