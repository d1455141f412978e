"""Transcripts of user audio: committed items, and the early transcript started when the user pauses.

Whisper-style engines cost about the same whatever the length of the audio, so the wait for a transcript
after the turn ends is the engine's whole run. When the user pauses (``SilenceStarted``) the voiced audio
is already known: it is transcribed at once, while the silence window is still confirming the end of the turn.
If the turn ends there, that result is the item's transcript (the trailing silence adds no words); if speech
resumes, the attempt is dropped and a later pause starts another.

Each item that needs words holds a machine (:data:`.states.TRANSCRIPT`): ``WAITING`` (a ``Transcribe`` effect
is out) or ``EARLY`` (the turn's early attempt will be its transcript) until it is ``DONE`` or ``FAILED``; a
response whose context holds such an item waits for it (:meth:`Transcripts.waiting_for`). The early attempt holds
its own (:data:`.states.EARLY`): it is applied once both its result and the commit have come, in either order.

Nothing here calls back into the session: what the others must act on (words heard early, a transcript ended)
is queued as a follow-up (:mod:`.followups`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ovos_realtime_plugin.core.config import SessionConfig
from ovos_realtime_plugin.core.conversation import Conversation
from ovos_realtime_plugin.core.effects import Effect, Transcribe
from ovos_realtime_plugin.core.errors import ProtocolError, server_error
from ovos_realtime_plugin.core.followups import EarlyWords, FollowUp, TranscriptEnded
from ovos_realtime_plugin.core.formats import AudioFormat
from ovos_realtime_plugin.core.items import Content, Item
from ovos_realtime_plugin.core.states import (
    EARLY,
    TRANSCRIPT,
    EarlyState,
    EarlyTrigger,
    Machine,
    TranscriptState,
    TranscriptTrigger,
)
from ovos_realtime_plugin.core.stt import LOGPROBS_INCLUDE, TokenLogprob, wire_logprobs

# Audio kept after the pause starts, so the last phoneme is not clipped: as much of it as has arrived when the pause
# is told (semantic_vad tells it after one frame, so less than this; heard as well: docs/PERFORMANCE.md).
EARLY_TAIL_MS = 64


class TranscriptHost(Protocol):
    """What transcripts need of their session."""

    @property
    def config(self) -> SessionConfig: ...

    @property
    def conversation(self) -> Conversation: ...

    @property
    def language(self) -> str | None: ...

    def emit(self, kind: str, fields: dict[str, Any]) -> None: ...

    def error(self, err: ProtocolError, client_event_id: str | None = None) -> None: ...

    def effect(self, effect: Effect) -> None: ...

    def follow_up(self, follow_up: FollowUp) -> None:
        """Queue what the session must act on once this call has returned."""


Logprobs = tuple[TokenLogprob, ...] | None


@dataclass
class EarlyTranscript:
    """The attempt started at the user's pause. ``result`` and ``error`` are what the engine answered (data); that
    it answered, and whether the turn has ended, are the states of :attr:`life`."""

    item_id: str
    attempt: int
    result: tuple[str, float, Logprobs] | None = None
    error: str | None = None
    life: Machine[EarlyState, EarlyTrigger] = field(default_factory=lambda: Machine(EARLY, EarlyState.ASKED))


class Transcripts:
    """Who waits for which transcript, for one session."""

    def __init__(self, host: TranscriptHost) -> None:
        self.host = host
        self.pending: dict[str, Machine[TranscriptState, TranscriptTrigger]] = {}  # item_id → until it ends
        self.failed: dict[str, ProtocolError] = {}  # item_id → the error its transcription ended with
        self._sent: dict[str, str] = {}  # item_id → transcript text already sent as deltas
        self._early: EarlyTranscript | None = None  # the current turn's, not yet committed
        self._committed_early: dict[int, EarlyTranscript] = {}  # attempt → committed turn awaiting its result
        self._attempts = 0

    @property
    def on(self) -> bool:
        """Whether the client asked for transcripts (the assistant always gets them)."""
        config = self.host.config
        return config.type == "transcription" or config.audio.input.transcription is not None

    def waiting_for(self, items: tuple[Item, ...]) -> bool:
        """Whether any of ``items`` still waits for its transcript."""
        return bool(self.pending) and any(item.id in self.pending for item in items)

    @property
    def logprobs(self) -> bool:
        """Whether the session's ``include`` asks for the transcripts' token log-probabilities."""
        return LOGPROBS_INCLUDE in (self.host.config.include or ())

    def _transcribe(self, item_id: str, audio: bytes, fmt: AudioFormat, attempt: int) -> None:
        """The language is ``transcription.language``, else the first of ``transcription.languages``, else the
        connection's."""
        host = self.host
        t = host.config.audio.input.transcription
        language = t.language or (t.languages[0] if t.languages else None) if t else None
        host.effect(Transcribe(item_id, audio, fmt, language or host.language, t.prompt if t else None, attempt,
                               t.model if t else None, tuple(t.keywords or ()) if t else (), self.logprobs))

    # -- early transcripts ----------------------------------------------------------------------
    def start_early(self, item_id: str, audio: bytes, fmt: AudioFormat) -> None:
        """The user paused: transcribe what they said so far (``audio``), in case the turn ends here."""
        if not audio:
            return
        self._attempts += 1
        self._early = EarlyTranscript(item_id, self._attempts)
        self._transcribe(item_id, audio, fmt, self._attempts)

    def drop_early(self) -> None:
        """Speech resumed or the buffer was cleared: the current turn's attempt is of no use."""
        self._early = None

    def wanted(self, item_id: str, attempt: int) -> bool:
        """Whether a transcription job is still of use (a speculative one is not once speech resumed)."""
        if attempt == 0:
            return item_id in self.pending
        return attempt in self._committed_early or (self._early is not None and self._early.attempt == attempt)

    # -- committed items ------------------------------------------------------------------------
    def transcribe_if_needed(self, item: Item, early_ok: bool = False) -> None:
        """User audio needs words: for the client when transcription is on, and always for the assistant."""
        early, self._early = self._early, None
        part = next((p for p in item.content if p.type == "input_audio" and p.transcript is None and p.audio), None)
        if part is None or part.audio is None or part.audio_format is None:
            return
        if early_ok and early is not None and early.item_id == item.id:
            self.pending[item.id] = Machine(TRANSCRIPT, TranscriptState.EARLY)
            if early.life.fire(EarlyTrigger.COMMIT) is EarlyState.APPLIED:
                self._apply_early(early)
            else:
                self._committed_early[early.attempt] = early
            return
        self.pending[item.id] = Machine(TRANSCRIPT, TranscriptState.WAITING)
        self._transcribe(item.id, bytes(part.audio), part.audio_format, 0)

    def _apply_early(self, early: EarlyTranscript) -> None:
        self._committed_early.pop(early.attempt, None)
        if early.error is not None:
            self.on_error(early.item_id, early.error)
        elif early.result is not None:
            self.on_result(early.item_id, early.result[0], self._committed_seconds(early.item_id),
                           logprobs=early.result[2])

    def _committed_seconds(self, item_id: str) -> float:
        part = self._audio_part(item_id)
        return part.audio_ms / 1000 if part is not None else 0.0

    def _set_transcript(self, item_id: str, text: str) -> None:
        part = self._audio_part(item_id)
        if part is not None:
            part.transcript = text
            self.host.conversation.get(item_id).changed()

    def _audio_part(self, item_id: str) -> Content | None:
        conversation = self.host.conversation
        if item_id not in conversation:
            return None
        return next((c for c in conversation.get(item_id).content if c.type == "input_audio"), None)

    # -- engine results -------------------------------------------------------------------------
    def _early_result(self, item_id: str, attempt: int, result: tuple[str, float, Logprobs] | None,
                      error: str | None) -> bool:
        """Route a speculative result; True when it was consumed (kept for later, applied, or stale)."""
        if attempt == 0:
            return False
        early = self._committed_early.get(attempt)
        if early is None and self._early is not None and self._early.attempt == attempt:
            early = self._early
        if early is None or early.item_id != item_id:
            return True  # speech resumed after that pause: stale
        early.result, early.error = result, error
        if early.life.state is not EarlyState.HEARD and early.life.fire(EarlyTrigger.RESULT) is EarlyState.APPLIED:
            self._apply_early(early)
        elif result is not None:  # heard before the turn ended (again, should the engine answer twice)
            self.host.follow_up(EarlyWords(result[0]))
        return True

    def _end(self, item_id: str, trigger: TranscriptTrigger) -> bool:
        """Move the item's transcript by ``trigger``; False when it was not waiting (a late or stale result)."""
        transcript = self.pending.pop(item_id, None)
        if transcript is None:
            return False
        transcript.fire(trigger)
        self._sent.pop(item_id, None)
        return True

    def _with_logprobs(self, fields: dict[str, Any], logprobs: Logprobs) -> dict[str, Any]:
        """``logprobs`` added when the session asked for them and the engine gave them (else left out)."""
        if self.logprobs and logprobs is not None:
            fields["logprobs"] = wire_logprobs(logprobs)
        return fields

    def on_delta(self, item_id: str, delta: str, logprobs: Logprobs = None) -> None:
        """A partial result of a committed item (engines that stream, or long audio in pieces)."""
        if self.on and item_id in self.pending and delta:
            self._sent[item_id] = self._sent.get(item_id, "") + delta
            self.host.emit("conversation.item.input_audio_transcription.delta", self._with_logprobs(
                {"item_id": item_id, "content_index": 0, "delta": delta}, logprobs))

    def on_result(self, item_id: str, text: str, audio_seconds: float, attempt: int = 0,
                  logprobs: Logprobs = None) -> None:
        if self._early_result(item_id, attempt, (text, audio_seconds, logprobs), None) \
                or item_id not in self.pending:
            return
        sent = self._sent.get(item_id, "")
        if text.startswith(sent):
            self.on_delta(item_id, text[len(sent):])
        self._end(item_id, TranscriptTrigger.RESULT)
        self._set_transcript(item_id, text)
        if self.on:
            usage: dict[str, Any] = {"type": "duration", "seconds": round(audio_seconds, 3)}
            self.host.emit("conversation.item.input_audio_transcription.completed", self._with_logprobs(
                {"item_id": item_id, "content_index": 0, "transcript": text, "usage": usage}, logprobs))
        self.host.follow_up(TranscriptEnded())

    def on_error(self, item_id: str, message: str, attempt: int = 0) -> None:
        if self._early_result(item_id, attempt, None, message) or not self._end(item_id, TranscriptTrigger.ERROR):
            return
        self._set_transcript(item_id, "")
        error = server_error(message, "transcription_failed")
        self.failed[item_id] = error  # a response waiting for these words fails with it (its response.done)
        if self.on:
            failed = ProtocolError("transcription_failed", message, None, "transcription_error")
            self.host.emit("conversation.item.input_audio_transcription.failed",
                           {"item_id": item_id, "content_index": 0, "error": failed.body()})
        self.host.follow_up(TranscriptEnded())
