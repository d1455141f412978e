"""Transcripts of user audio: committed items, and the early transcript started when the user pauses.

Whisper-style engines cost about the same whatever the length of the audio, so the wait for a transcript
after the turn ends is the engine's whole run. When the user pauses (``SilenceStarted``) the voiced audio
is already known: it is transcribed at once, while the silence window is still confirming the end of the turn.
If the turn ends there, that result is the item's transcript (the trailing silence adds no words); if speech
resumes, the attempt is dropped and a later pause starts another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ovos_realtime_plugin.core.effects import Transcribe
from ovos_realtime_plugin.core.items import Content, Item

if TYPE_CHECKING:
    from ovos_realtime_plugin.core.session import RealtimeSession

EARLY_TAIL_MS = 64  # audio kept after the pause starts, so the last phoneme is not clipped


@dataclass
class EarlyTranscript:
    item_id: str
    attempt: int
    committed: bool = False
    result: tuple[str, float] | None = None
    error: str | None = None


class Transcripts:
    """Mixed into the session (through ``InputAudio``): who waits for which transcript."""

    def __init__(self) -> None:
        self.pending_transcripts: dict[str, str] = {}  # item_id → content kind, while transcription runs
        self.failed_transcripts: dict[str, dict[str, Any]] = {}  # item_id → the error its transcription ended with
        self._sent: dict[str, str] = {}  # item_id → transcript text already sent as deltas
        self._early: EarlyTranscript | None = None  # the current turn's, not yet committed
        self._committed_early: dict[int, EarlyTranscript] = {}  # attempt → committed turn awaiting its result
        self._attempts = 0

    @property
    def _ts(self) -> RealtimeSession:
        return self  # type: ignore[return-value]

    @property
    def transcription_on(self) -> bool:
        s = self._ts
        return s.config.type == "transcription" or s.config.audio.input.transcription is not None

    def _transcribe(self, item_id: str, audio: bytes, attempt: int) -> None:
        s = self._ts
        t = s.config.audio.input.transcription
        s.effect(Transcribe(item_id, audio, s.buffer.format, (t.language if t else None) or s.language,
                            t.prompt if t else None, attempt))

    # -- early transcripts ----------------------------------------------------------------------
    def start_early_transcript(self, item_id: str, start_ms: int, pause_ms: int) -> None:
        """The user paused: transcribe what they said so far, in case the turn ends here."""
        audio = self._ts.buffer.peek(start_ms, pause_ms + EARLY_TAIL_MS)
        if not audio:
            return
        self._attempts += 1
        self._early = EarlyTranscript(item_id, self._attempts)
        self._transcribe(item_id, audio, self._attempts)

    def drop_early_transcript(self) -> None:
        """Speech resumed or the buffer was cleared: the current turn's attempt is of no use."""
        self._early = None

    def transcript_wanted(self, item_id: str, attempt: int) -> bool:
        """Whether a transcription job is still of use (a speculative one is not once speech resumed)."""
        if attempt == 0:
            return item_id in self.pending_transcripts
        return attempt in self._committed_early or (self._early is not None and self._early.attempt == attempt)

    # -- committed items ------------------------------------------------------------------------
    def transcribe_if_needed(self, item: Item, early_ok: bool = False) -> None:
        """User audio needs words: for the client when transcription is on, and always for the assistant."""
        early, self._early = self._early, None
        for part in item.content:
            if part.type == "input_audio" and part.transcript is None and part.audio:
                self.pending_transcripts[item.id] = part.type
                if early_ok and early is not None and early.item_id == item.id:
                    early.committed = True
                    if early.result is not None or early.error is not None:
                        self._apply_early(early)
                    else:
                        self._committed_early[early.attempt] = early
                    return
                self._transcribe(item.id, bytes(part.audio), 0)
                return

    def _apply_early(self, early: EarlyTranscript) -> None:
        self._committed_early.pop(early.attempt, None)
        if early.error is not None:
            self.on_transcript_error(early.item_id, early.error)
        elif early.result is not None:
            self.on_transcript(early.item_id, early.result[0], self._committed_seconds(early.item_id))

    def _committed_seconds(self, item_id: str) -> float:
        part = self._audio_part(item_id)
        return part.audio_ms / 1000 if part is not None else 0.0

    def _set_transcript(self, item_id: str, text: str) -> None:
        part = self._audio_part(item_id)
        if part is not None:
            part.transcript = text
            self._ts.conversation.get(item_id).changed()

    def _audio_part(self, item_id: str) -> Content | None:
        s = self._ts
        if item_id not in s.conversation:
            return None
        return next((c for c in s.conversation.get(item_id).content if c.type == "input_audio"), None)

    # -- engine results -------------------------------------------------------------------------
    def _early_result(self, item_id: str, attempt: int, result: tuple[str, float] | None,
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
        if early.committed:
            self._apply_early(early)
        elif result is not None:
            self.early_words(result[0])
        return True

    def early_words(self, text: str) -> None:
        """The words of the current turn up to the pause (the turn detector may end the turn on them)."""

    def on_transcript_delta(self, item_id: str, delta: str) -> None:
        """A partial result of a committed item (engines that stream, or long audio in pieces)."""
        if self.transcription_on and item_id in self.pending_transcripts and delta:
            self._sent[item_id] = self._sent.get(item_id, "") + delta
            self._ts.emit("conversation.item.input_audio_transcription.delta",
                          {"item_id": item_id, "content_index": 0, "delta": delta})

    def on_transcript(self, item_id: str, text: str, audio_seconds: float, attempt: int = 0) -> None:
        if self._early_result(item_id, attempt, (text, audio_seconds), None):
            return
        if item_id not in self.pending_transcripts:
            return
        sent = self._sent.get(item_id, "")
        if text.startswith(sent):
            self.on_transcript_delta(item_id, text[len(sent):])
        self.pending_transcripts.pop(item_id)
        self._sent.pop(item_id, None)
        self._set_transcript(item_id, text)
        if self.transcription_on:
            usage: dict[str, Any] = {"type": "duration", "seconds": round(audio_seconds, 3)}
            self._ts.emit("conversation.item.input_audio_transcription.completed",
                          {"item_id": item_id, "content_index": 0, "transcript": text, "usage": usage})
        self._ts.start_ready_responses()

    def on_transcript_error(self, item_id: str, message: str, attempt: int = 0) -> None:
        if self._early_result(item_id, attempt, None, message):
            return
        if self.pending_transcripts.pop(item_id, None) is None:
            return
        self._sent.pop(item_id, None)
        self._set_transcript(item_id, "")
        error = {"type": "server_error", "code": "transcription_failed", "message": message, "param": None}
        self.failed_transcripts[item_id] = error
        if self.transcription_on:
            self._ts.emit("conversation.item.input_audio_transcription.failed",
                          {"item_id": item_id, "content_index": 0, "error": error})
        else:
            self._ts.emit("error", {"error": {**error, "event_id": None}})
        self._ts.start_ready_responses()
