"""The responses of one session: creating them, starting each once its context is transcribed, cancelling them,
routing the engines' results to them, and what their end leaves behind (rate limits, spoken segments).

A part of the session (composition): it reaches the rest only through :class:`ResponderHost`. Whether a
response waits for transcripts is its own state (``waiting``, :data:`.states.RESPONSE`), not a list kept here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from ovos_realtime_plugin.core import client_events as ce
from ovos_realtime_plugin.core.assistant import AssistantOutput, AssistantRequest
from ovos_realtime_plugin.core.config import RealtimeSessionConfig, SessionConfig
from ovos_realtime_plugin.core.conversation import Conversation
from ovos_realtime_plugin.core.effects import CancelResponse, Effect, RunAssistant
from ovos_realtime_plugin.core.errors import ProtocolError, server_error
from ovos_realtime_plugin.core.followups import FollowUp, ResponseEnded
from ovos_realtime_plugin.core.ids import new_id
from ovos_realtime_plugin.core.prepared_speech import PreparedSpeech
from ovos_realtime_plugin.core.ratelimit import RateLimiter
from ovos_realtime_plugin.core.response_stream import ResponseSpec, ResponseStream
from ovos_realtime_plugin.core.states import ResponseStatus
from ovos_realtime_plugin.core.transcripts import Transcripts

log = logging.getLogger(__name__)


class ResponderHost(Protocol):
    """What the responder needs of its session."""

    id: str

    @property
    def config(self) -> SessionConfig: ...

    @property
    def model(self) -> str: ...

    @property
    def conversation(self) -> Conversation: ...

    def emit(self, kind: str, fields: dict[str, Any]) -> None: ...

    def follow_up(self, follow_up: FollowUp) -> None: ...

    def response_spec(self, params: ce.ResponseParams) -> ResponseSpec: ...


class Responder:
    """Creates, starts, cancels and ends the responses of one session; holds those not yet finished, in the order
    they were created."""

    def __init__(self, host: ResponderHost, transcripts: Transcripts, limiter: RateLimiter, clock: Callable[[], float],
                 effects: list[Effect], mcp_items: bool, prepared_speech: PreparedSpeech) -> None:
        self.host = host
        self.transcripts = transcripts
        self.limiter = limiter
        self.clock = clock
        self._effects = effects
        self._mcp_items = mcp_items
        self._prepared_speech = prepared_speech
        self.streams: dict[str, ResponseStream] = {}
        self.segments: dict[str, list[tuple[int, int]]] = {}  # audio item → (audio end, transcript end) per sentence
        self.audio_out_started = False
        """Assistant audio was produced in this session (its voice can no longer change): a fact of its history,
        not a state with moves."""

    def active(self) -> ResponseStream | None:
        """The response of the conversation not yet finished (at most one)."""
        for stream in self.streams.values():
            if stream.active and stream.spec.in_conversation:
                return stream
        return None

    # -- creating and starting --------------------------------------------------------------------
    def create(self, params: ce.ResponseParams) -> None:
        if not isinstance(self.host.config, RealtimeSessionConfig):
            raise ProtocolError("invalid_value", "Responses are not supported in a transcription session.", "type")
        in_conversation = params.conversation != "none"
        active = self.active()
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
        spec = self.host.response_spec(params)
        self._prepared_speech.response_started(spec.context)
        stream = ResponseStream(new_id("resp"), spec, self.host.conversation, self._mcp_items, self.host.emit,
                                self._effects, self._prepared_speech)
        self.streams[stream.id] = stream
        self.host.emit("response.created", {"response": stream})
        self.start_ready()

    def start_ready(self) -> None:
        """Start the waiting responses whose context has every transcript it needs."""
        for stream in list(self.streams.values()):
            if stream.waiting and not self.transcripts.waiting_for(stream.spec.context):
                self._run_or_fail(stream)
                self._if_ended(stream)

    def _run_or_fail(self, stream: ResponseStream) -> None:
        """Run the assistant, unless the turn it answers is speech whose transcription failed: the assistant
        would hear nothing, so the response fails with that error (already reported with the transcript)."""
        context = stream.spec.context
        error = self.transcripts.failed.get(context[-1].id) if context else None
        if error is not None:
            stop_failed(stream, error)
        else:
            stream.start()
            self._effects.append(RunAssistant(self._request(stream)))

    def _request(self, stream: ResponseStream) -> AssistantRequest:
        spec = stream.spec
        return AssistantRequest(
            response_id=stream.id, items=spec.context, instructions=spec.instructions, tools=spec.tools,
            tool_choice=spec.tool_choice, output_modalities=spec.modalities,
            max_output_tokens=spec.max_output_tokens, temperature=spec.temperature,
            parallel_tool_calls=spec.parallel_tool_calls, metadata=spec.metadata, language=spec.language,
            voice=spec.voice, session_id=self.host.id, model=self.host.model)

    def _if_ended(self, stream: ResponseStream | None) -> None:
        """After each call into ``stream``: if it has just ended (its ``response.done`` the last event it emitted),
        what its end leaves behind. The stream never calls back; this is asked of it."""
        if stream is not None and not stream.active and self.streams.pop(stream.id, None) is not None:
            self._ended(stream)

    def _ended(self, stream: ResponseStream) -> None:
        now = self.clock()
        if stream.usage:
            self.limiter.record_tokens(now, int(stream.usage["total_tokens"]))
        self.segments.update(stream.segments)
        self.host.emit("rate_limits.updated", {"rate_limits": self.limiter.report(now)})
        self.host.follow_up(ResponseEnded())

    # -- cancelling -------------------------------------------------------------------------------
    def cancel_requested(self, response_id: str | None) -> None:
        """``response.cancel``: the given response, else the conversation's, else any active one."""
        stream = self.streams.get(response_id) if response_id else self.active()
        if stream is None and not response_id:
            stream = next((s for s in self.streams.values() if s.active), None)
        if stream is None or not stream.active:
            raise ProtocolError("response_cancel_not_active", "Cancellation failed: no active response found")
        self.cancel(stream, "client_cancelled")

    def cancel(self, stream: ResponseStream, reason: str) -> None:
        self._effects.append(CancelResponse(stream.id))
        stream.stop(ResponseStatus.CANCELLED, {"type": "cancelled", "reason": reason})
        self._if_ended(stream)

    # -- assistant and speech results -------------------------------------------------------------
    def on_assistant_output(self, response_id: str, output: AssistantOutput) -> None:
        stream = self.streams.get(response_id)
        if stream is not None:
            if stream.spec.audio:
                self.audio_out_started = True
            stream.feed(output)
            self._if_ended(stream)

    def on_assistant_end(self, response_id: str) -> None:
        stream = self.streams.get(response_id)
        if stream is not None:
            stream.end()
            self._if_ended(stream)

    def on_assistant_error(self, response_id: str, message: str, code: str) -> None:
        stream = self.streams.get(response_id)
        if stream is None or not stream.active:
            return
        self._effects.append(CancelResponse(response_id))
        stop_failed(stream, server_error(message, code))  # reported in its response.done, as OpenAI does
        self._if_ended(stream)

    def on_speech_audio(self, response_id: str, item_id: str, audio: bytes) -> None:
        stream = self.streams.get(response_id)
        if stream is not None:
            stream.speech_audio(item_id, audio)

    def on_speech_error(self, response_id: str, item_id: str, seq: int, message: str) -> None:
        """A sentence could not be spoken: its transcript stays, the response goes on and ends as ``failed`` with
        this error in its ``status_details`` (OpenAI reports failures inside a response there, not as ``error``)."""
        stream = self.streams.get(response_id)
        if stream is not None and stream.active:
            stream.fail_when_done(failure(server_error(message, "speech_synthesis_failed")))
        else:
            log.warning("a sentence of response %s could not be spoken after it ended: %s", response_id, message)
        self.on_speech_end(response_id, item_id, seq)

    def on_speech_end(self, response_id: str, item_id: str, seq: int) -> None:
        stream = self.streams.get(response_id)
        if stream is not None:
            stream.speech_end(item_id, seq)
            self._if_ended(stream)


def failure(error: ProtocolError) -> dict[str, Any]:
    """A response's ``status_details`` for ``error``."""
    return {"type": "failed", "error": {k: v for k, v in error.body().items() if k != "param"}}


def stop_failed(stream: ResponseStream, error: ProtocolError) -> None:
    """End ``stream`` as ``failed`` with ``error`` in its status details."""
    stream.stop(ResponseStatus.FAILED, failure(error))
