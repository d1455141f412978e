"""The Realtime session: client events and engine results in; server events and effects out.

No I/O happens here. The driver (``server.connection``) calls :meth:`SessionCore.handle` for each
client event and the ``on_*`` methods for engine results, then sends :meth:`pop_events` and carries out
:meth:`pop_effects`. Every ordering rule lives here, so the driver never needs to sleep or race.

The parts never call back into each other through the session: what one must act on after another is queued
(:mod:`.followups`) and settled by the entry point, one after another, before it returns.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from typing import Any

from ovos_realtime_plugin.core import client_events as ce
from ovos_realtime_plugin.core import client_items, server_tools
from ovos_realtime_plugin.core.assistant import AssistantOutput, ToolLister
from ovos_realtime_plugin.core.audio_buffer import InputAudioBuffer
from ovos_realtime_plugin.core.config import (
    RealtimeSessionConfig,
    SessionConfig,
    TranscriptionSessionConfig,
    deep_merge,
    voice_name,
)
from ovos_realtime_plugin.core.conversation import Conversation
from ovos_realtime_plugin.core.effects import Anticipate, Effect
from ovos_realtime_plugin.core.errors import ProtocolError, server_error
from ovos_realtime_plugin.core.events import EventRenderer, SessionView, Validate, WithAudio
from ovos_realtime_plugin.core.followups import EarlyWords, FollowUp, TranscriptEnded, TurnEnded, TurnStarted
from ovos_realtime_plugin.core.ids import new_id
from ovos_realtime_plugin.core.input_audio import InputAudio
from ovos_realtime_plugin.core.items import ITEM_ID
from ovos_realtime_plugin.core.limits import SessionLimits
from ovos_realtime_plugin.core.prepared_speech import AnticipatedTurn, PreparedSpeech
from ovos_realtime_plugin.core.ratelimit import RateLimiter, RateLimitSettings
from ovos_realtime_plugin.core.responder import Responder
from ovos_realtime_plugin.core.response_stream import ResponseSpec, ResponseStream
from ovos_realtime_plugin.core.states import TranscriptState
from ovos_realtime_plugin.core.stt import TokenLogprob
from ovos_realtime_plugin.core.transcripts import Transcripts
from ovos_realtime_plugin.core.truncation import oldest_to_drop
from ovos_realtime_plugin.core.turns import TurnDetector

SESSION_TTL_S = 3600


class SessionCore:
    """One Realtime connection's state: the conversation and session settings here; input audio, transcripts and
    responses in their own parts (:attr:`input`, :attr:`transcripts`, :attr:`responder`), which reach the
    session through small host interfaces this class implements. Each entry point ends by settling what the parts
    queued (:meth:`_settle`)."""

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
        self.expires_at = int(clock()) + SESSION_TTL_S
        self._events: list[dict[str, Any]] = []
        self._effects: list[Effect] = []
        self._follow_ups: deque[FollowUp] = deque()
        self.prepared_speech = PreparedSpeech(self._effects)
        self.tool_lister: ToolLister | None = None
        """Lists the tools of ``mcp`` tools the client declares (set by whoever makes the assistant)."""
        self.access: Any = None
        """What the client's API key may reach (set by the server, read by whoever makes the assistant)."""
        self.transcripts = Transcripts(self)
        self.input = InputAudio(self, self.transcripts)
        self.responder = Responder(self, self.transcripts, self.limiter, clock, self._effects,
                                   renderer.mcp_items, self.prepared_speech)

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
        self._settle()

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
            client_items.truncate(self, event)
        elif isinstance(event, ce.ResponseCreate):
            self.responder.create(event.response or ce.ResponseParams())
        elif isinstance(event, ce.ResponseCancel):
            self.responder.cancel_requested(event.response_id)

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
        item = client_items.build_item(self, event.item)
        if event.previous_item_id is not None and event.previous_item_id != "root":
            self.conversation.get(event.previous_item_id, "previous_item_id")
        previous = self.conversation.insert(item, event.previous_item_id)
        self.emit("conversation.item.added", {"previous_item_id": previous, "item": item})
        self.emit("conversation.item.done", {"previous_item_id": previous, "item": item})
        self.transcripts.transcribe_if_needed(item)

    # -- responses: the driver's entry points (kept by :attr:`responder`) --------------------------
    @property
    def responses(self) -> dict[str, ResponseStream]:
        """The responses not yet finished, by id."""
        return self.responder.streams

    @property
    def segments(self) -> dict[str, list[tuple[int, int]]]:
        """Audio item → (audio end, transcript end) per spoken sentence."""
        return self.responder.segments

    @property
    def audio_out_started(self) -> bool:
        return self.responder.audio_out_started

    def active_response(self) -> ResponseStream | None:
        return self.responder.active()

    def response_spec(self, params: ce.ResponseParams) -> ResponseSpec:
        return client_items.response_spec(self, params)

    def _create_response_auto(self) -> None:
        """A response the server starts itself (turn detection); problems are reported, not raised."""
        try:
            self.responder.create(ce.ResponseParams())
        except ProtocolError as err:
            self.error(err)

    def on_assistant_output(self, response_id: str, output: AssistantOutput) -> None:
        self.responder.on_assistant_output(response_id, output)
        self._settle()

    def on_assistant_end(self, response_id: str) -> None:
        self.responder.on_assistant_end(response_id)
        self._settle()

    def on_assistant_error(self, response_id: str, message: str, code: str = "server_error") -> None:
        self.responder.on_assistant_error(response_id, message, code)
        self._settle()

    def on_speech_audio(self, response_id: str, item_id: str, audio: bytes) -> None:
        self.responder.on_speech_audio(response_id, item_id, audio)

    def on_speech_error(self, response_id: str, item_id: str, seq: int, message: str) -> None:
        self.responder.on_speech_error(response_id, item_id, seq, message)
        self._settle()

    def on_speech_end(self, response_id: str, item_id: str, seq: int) -> None:
        self.responder.on_speech_end(response_id, item_id, seq)
        self._settle()

    def on_speech_detection_error(self, message: str) -> None:
        """Voice activity detection failed on some input audio: reported as OpenAI reports its own failures outside
        a response (``error``, type and code ``server_error``); turn detection goes on."""
        self.error(server_error(f"Speech detection failed on some input audio: {message}"))

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

    # -- input audio and transcripts: the driver's entry points -----------------------------------
    @property
    def buffer(self) -> InputAudioBuffer:
        return self.input.buffer

    @property
    def detector(self) -> TurnDetector | None:
        return self.input.detector

    @property
    def pending_transcripts(self) -> dict[str, TranscriptState]:
        """Item → the state of its transcript, for the items whose transcript has not ended."""
        return {item_id: transcript.state for item_id, transcript in self.transcripts.pending.items()}

    def on_speech_frames(self, start_ms: int, frame_ms: int, probabilities: list[float]) -> None:
        """VAD results for consecutive frames starting at ``start_ms`` of the input stream: each frame's follow-ups
        (a turn that started interrupts a response) are settled before the next frame is heard."""
        if self.input.detector is None:
            return
        for index, probability in enumerate(probabilities):
            begin = start_ms + index * frame_ms
            self.input.on_speech_frame(begin, begin + frame_ms, probability)
            self._settle()
        self.input.check_idle()
        self._settle()

    def transcript_wanted(self, item_id: str, attempt: int) -> bool:
        return self.transcripts.wanted(item_id, attempt)

    def on_transcript_delta(self, item_id: str, delta: str, logprobs: tuple[TokenLogprob, ...] | None = None) -> None:
        self.transcripts.on_delta(item_id, delta, logprobs)

    def on_transcript(self, item_id: str, text: str, audio_seconds: float, attempt: int = 0,
                      logprobs: tuple[TokenLogprob, ...] | None = None) -> None:
        self.transcripts.on_result(item_id, text, audio_seconds, attempt, logprobs)
        self._settle()

    def on_transcript_error(self, item_id: str, message: str, attempt: int = 0) -> None:
        self.transcripts.on_error(item_id, message, attempt)
        self._settle()

    # -- what the parts ask of the session (InputAudioHost, TranscriptHost, ResponderHost) ----------
    def responding(self) -> bool:
        return self.active_response() is not None

    def follow_up(self, follow_up: FollowUp) -> None:
        self._follow_ups.append(follow_up)

    def _settle(self) -> None:
        """Act on what the parts queued, in order, until nothing is left: each part returns before the next acts,
        so no part is ever called back while it is still working."""
        while self._follow_ups:
            follow_up = self._follow_ups.popleft()
            if isinstance(follow_up, TurnStarted):
                td = self.config.audio.input.turn_detection
                active = self.active_response()
                if active is not None and td is not None and td.interrupt_response:
                    self.responder.cancel(active, "turn_detected")
            elif isinstance(follow_up, TurnEnded):
                if self.active_response() is None:
                    self._create_response_auto()
            elif isinstance(follow_up, TranscriptEnded):
                self.responder.start_ready()
            elif isinstance(follow_up, EarlyWords):
                self._early_words(follow_up.text)
            else:
                self.input.response_finished()

    def _early_words(self, text: str) -> None:
        """The turn's early transcript came back while it is still heard: it may end the turn, or, if the words
        read as finished and a response will follow, the assistant may prepare its answer (``Anticipate``)."""
        item_id = self.input.turn_item
        if self.input.early_words(text) and self.active_response() is None and item_id is not None:
            spec = self.response_spec(ce.ResponseParams())  # what the response would be made with
            self.prepared_speech.anticipate(AnticipatedTurn(item_id, spec.voice, spec.speed, spec.language,
                                                            spec.audio))
            self.effect(Anticipate(text, item_id, spec.language, spec.voice, spec.speed, spec.audio, spec.tools,
                                   spec.tool_choice, self.model))

    def early_answer(self, item_id: str, text: str) -> None:
        """The assistant answered the paused turn ``item_id`` before it ended, saying ``text``: its first sentences
        are synthesized ahead for the response to that turn (:class:`~.prepared_speech.PreparedSpeech`)."""
        self.prepared_speech.early_answer(item_id, text)
