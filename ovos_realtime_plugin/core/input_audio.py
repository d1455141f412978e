"""Input audio: the buffer, turn detection, commits and transcription of user audio items."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from ovos_realtime_plugin.core.config import RealtimeSessionConfig, ServerVad, SessionConfig, input_format
from ovos_realtime_plugin.core.effects import DetectSpeech, ResetSpeechDetector, Transcribe
from ovos_realtime_plugin.core.errors import ProtocolError
from ovos_realtime_plugin.core.ids import new_id
from ovos_realtime_plugin.core.items import Content, Item
from ovos_realtime_plugin.core.turns import SilenceStarted, SpeechStarted, SpeechStopped, TurnDetector

if TYPE_CHECKING:
    from ovos_realtime_plugin.core.session import RealtimeSession

MIN_COMMIT_MS = 100


class InputAudio:
    """Mixed into :class:`RealtimeSession`; owns everything about audio the client sends."""

    config: SessionConfig

    def __init__(self) -> None:
        from ovos_realtime_plugin.core.audio_buffer import InputAudioBuffer

        self.buffer = InputAudioBuffer(input_format(self.config))
        self.detector: TurnDetector | None = None
        self.pending_transcripts: dict[str, str] = {}  # item_id → content kind, while transcription runs
        self.segments: dict[str, list[tuple[int, int]]] = {}
        self._turn_item: str | None = None
        self._idle_from_ms = 0
        self._speech_start_ms = 0
        self._configure_detector()

    @property
    def _s(self) -> RealtimeSession:
        return self  # type: ignore[return-value]

    # -- configuration --------------------------------------------------------------------------
    def _configure_detector(self) -> None:
        td = self.config.audio.input.turn_detection
        if td is None:
            self.detector = None
        elif self.detector is None:
            self.detector = TurnDetector(td)
        else:
            self.detector.configure(td)

    def input_config_changed(self) -> None:
        self.buffer.set_format(input_format(self.config))
        self._configure_detector()

    @property
    def transcription_on(self) -> bool:
        return self.config.type == "transcription" or self.config.audio.input.transcription is not None

    # -- client events --------------------------------------------------------------------------
    def append_audio(self, audio_b64: str) -> None:
        try:
            audio = base64.b64decode(audio_b64, validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("invalid_value", "Invalid 'audio'. Expected base64-encoded audio bytes (mono PCM16 "
                                                 "at 24kHz) but got an invalid value.", "audio") from None
        offset = self.buffer.append(audio)
        if self.detector is not None and audio:
            self._s.effect(DetectSpeech(audio, self.buffer.format, offset))

    def commit_audio(self) -> None:
        held = self.buffer.duration_ms
        if held < MIN_COMMIT_MS:
            raise ProtocolError("input_audio_buffer_commit_empty",
                                "Error committing input audio buffer: buffer too small. Expected at least "
                                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {held:.2f}ms of audio.")
        self._commit(self.buffer.take(), self._turn_item)

    def clear_audio(self) -> None:
        self.buffer.clear()
        self._turn_item = None
        if self.detector is not None:
            self.detector.reset()
            self._s.effect(ResetSpeechDetector())
        self._s.emit("input_audio_buffer.cleared", {})

    # -- commits and transcripts ----------------------------------------------------------------
    def _commit(self, audio: bytes, item_id: str | None) -> Item:
        s = self._s
        item = Item(id=item_id or new_id("item"), type="message", role="user", content=[
            Content(type="input_audio", transcript=None, audio=bytearray(audio), audio_format=self.buffer.format)])
        self._turn_item = None
        previous = s.conversation.insert(item)
        s.emit("input_audio_buffer.committed", {"previous_item_id": previous, "item_id": item.id})
        rendered = s.renderer.item(item)
        s.emit("conversation.item.added", {"previous_item_id": previous, "item": rendered})
        s.emit("conversation.item.done", {"previous_item_id": previous, "item": rendered})
        self.transcribe_if_needed(item)
        return item

    def transcribe_if_needed(self, item: Item) -> None:
        """User audio needs words: for the client when transcription is on, and always for the assistant."""
        for part in item.content:
            if part.type == "input_audio" and part.transcript is None and part.audio:
                self.pending_transcripts[item.id] = part.type
                t = self.config.audio.input.transcription
                self._s.effect(Transcribe(item.id, bytes(part.audio), part.audio_format or self.buffer.format,
                                          (t.language if t else None) or self._s.language, t.prompt if t else None))
                return

    def _audio_part(self, item_id: str) -> Content | None:
        if item_id not in self._s.conversation:
            return None
        return next((c for c in self._s.conversation.get(item_id).content if c.type == "input_audio"), None)

    def on_transcript_delta(self, item_id: str, delta: str) -> None:
        if self.transcription_on and item_id in self.pending_transcripts and delta:
            self._s.emit("conversation.item.input_audio_transcription.delta",
                         {"item_id": item_id, "content_index": 0, "delta": delta})

    def on_transcript(self, item_id: str, text: str, audio_seconds: float) -> None:
        if self.pending_transcripts.pop(item_id, None) is None:
            return
        part = self._audio_part(item_id)
        if part is not None:
            part.transcript = text
        if self.transcription_on:
            usage: dict[str, Any] = {"type": "duration", "seconds": round(audio_seconds, 3)}
            self._s.emit("conversation.item.input_audio_transcription.completed",
                         {"item_id": item_id, "content_index": 0, "transcript": text, "usage": usage})
        self._s.start_ready_responses()

    def on_transcript_error(self, item_id: str, message: str) -> None:
        if self.pending_transcripts.pop(item_id, None) is None:
            return
        part = self._audio_part(item_id)
        if part is not None:
            part.transcript = ""
        error = {"type": "server_error", "code": "transcription_failed", "message": message, "param": None}
        if self.transcription_on:
            self._s.emit("conversation.item.input_audio_transcription.failed",
                         {"item_id": item_id, "content_index": 0, "error": error})
        else:
            self._s.emit("error", {"error": {**error, "event_id": None}})
        self._s.start_ready_responses()

    # -- turn detection -------------------------------------------------------------------------
    def on_speech_frames(self, start_ms: int, frame_ms: int, probabilities: list[float]) -> None:
        """VAD results for consecutive frames starting at ``start_ms`` of the input stream."""
        if self.detector is None:
            return
        for index, probability in enumerate(probabilities):
            begin = start_ms + index * frame_ms
            for event in self.detector.frame(begin, begin + frame_ms, probability):
                self._turn_event(event)
        self._check_idle()

    def _turn_event(self, event: SpeechStarted | SpeechStopped | Any) -> None:
        s = self._s
        td = self.config.audio.input.turn_detection
        if isinstance(event, SpeechStarted):
            self._turn_item = new_id("item")
            start = max(event.audio_start_ms, self.buffer.start_ms)
            s.emit("input_audio_buffer.speech_started", {"audio_start_ms": start, "item_id": self._turn_item})
            self._speech_start_ms = start
            active = s.active_response()
            if active is not None and td is not None and td.interrupt_response:
                s.cancel_response(active, "turn_detected")
        elif isinstance(event, SilenceStarted):
            pass  # a cue an engine may use to transcribe early; the turn is not over yet
        elif isinstance(event, SpeechStopped):
            item_id = self._turn_item or new_id("item")
            s.emit("input_audio_buffer.speech_stopped", {"audio_end_ms": event.audio_end_ms, "item_id": item_id})
            self._turn_item = item_id
            self._commit(self.buffer.take(self._speech_start_ms, event.commit_end_ms), item_id)
            self._idle_from_ms = event.commit_end_ms
            if td is not None and td.create_response and isinstance(self.config, RealtimeSessionConfig):
                if s.active_response() is None:
                    s.create_response_auto()

    def response_finished(self) -> None:
        self._idle_from_ms = self.buffer.end_ms

    def _check_idle(self) -> None:
        td = self.config.audio.input.turn_detection
        if not isinstance(td, ServerVad) or td.idle_timeout_ms is None or self.detector is None:
            return
        if self.detector.speaking or self._s.active_response() is not None:
            return
        now = self.buffer.end_ms
        if now - self._idle_from_ms < td.idle_timeout_ms:
            return
        s = self._s
        item_id = new_id("item")
        s.emit("input_audio_buffer.timeout_triggered",
               {"audio_start_ms": self._idle_from_ms, "audio_end_ms": now, "item_id": item_id})
        self._idle_from_ms = now
        if self.buffer.duration_ms >= MIN_COMMIT_MS:
            self._commit(self.buffer.take(), item_id)
        if isinstance(self.config, RealtimeSessionConfig):
            s.create_response_auto()
