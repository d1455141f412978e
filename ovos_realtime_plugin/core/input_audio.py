"""Input audio: the buffer, turn detection and commits of the audio the client sends.

A part of the session (composition): it reaches the rest of the session only through
:class:`InputAudioHost`, and hands committed audio items to :class:`~.transcripts.Transcripts`. What the session
must act on (a turn started or ended) is queued as a follow-up (:mod:`.followups`), never called.
"""

from __future__ import annotations

import binascii
from typing import Any, Protocol

from ovos_realtime_plugin.core import b64
from ovos_realtime_plugin.core.audio_buffer import InputAudioBuffer
from ovos_realtime_plugin.core.config import RealtimeSessionConfig, ServerVad, SessionConfig, input_format
from ovos_realtime_plugin.core.conversation import Conversation
from ovos_realtime_plugin.core.effects import DetectSpeech, Effect, ResetSpeechDetector
from ovos_realtime_plugin.core.endpointing import Reading, reading
from ovos_realtime_plugin.core.errors import ProtocolError
from ovos_realtime_plugin.core.followups import FollowUp, TurnEnded, TurnStarted
from ovos_realtime_plugin.core.ids import new_id
from ovos_realtime_plugin.core.items import Content, Item
from ovos_realtime_plugin.core.limits import SessionLimits, buffer_full
from ovos_realtime_plugin.core.states import TurnState
from ovos_realtime_plugin.core.transcripts import EARLY_TAIL_MS, Transcripts
from ovos_realtime_plugin.core.turns import (
    SilenceStarted,
    SpeechResumed,
    SpeechStarted,
    SpeechStopped,
    TurnDetector,
    TurnEvent,
)

MIN_COMMIT_MS = 100


class InputAudioHost(Protocol):
    """What input audio needs of its session."""

    @property
    def config(self) -> SessionConfig: ...

    @property
    def conversation(self) -> Conversation: ...

    @property
    def early_transcripts(self) -> bool: ...

    @property
    def session_limits(self) -> SessionLimits: ...

    def emit(self, kind: str, fields: dict[str, Any]) -> None: ...

    def effect(self, effect: Effect) -> None: ...

    def responding(self) -> bool:
        """Whether a response in the conversation is active."""

    def follow_up(self, follow_up: FollowUp) -> None:
        """Queue what the session must act on once this call has returned."""


class InputAudio:
    """Everything about the audio the client sends, for one session."""

    def __init__(self, host: InputAudioHost, transcripts: Transcripts) -> None:
        self.host = host
        self.transcripts = transcripts
        self.buffer = InputAudioBuffer(input_format(host.config))
        self.detector: TurnDetector | None = None
        self._turn_item: str | None = None
        """The id the item of the turn being heard will take (data: the turn's state is the detector's)."""
        self._idle_from_ms = 0
        self._speech_start_ms = 0
        self._configure_detector()

    # -- configuration --------------------------------------------------------------------------
    def _configure_detector(self) -> None:
        td = self.host.config.audio.input.turn_detection
        if td is None:
            self.detector = None
        elif self.detector is None:
            self.detector = TurnDetector(td)
        else:
            self.detector.configure(td)

    def config_changed(self) -> None:
        self.buffer.set_format(input_format(self.host.config))
        self._configure_detector()

    # -- client events --------------------------------------------------------------------------
    def append(self, audio_b64: str) -> None:
        try:
            audio = b64.decode(audio_b64)
        except (binascii.Error, ValueError):
            raise ProtocolError("invalid_value", "Invalid 'audio'. Expected base64-encoded audio bytes (mono PCM16 "
                                                 "at 24kHz) but got an invalid value.", "audio") from None
        self._make_room(len(audio))
        offset = self.buffer.append(audio)
        if self.detector is not None and audio:
            self.host.effect(DetectSpeech(audio, self.buffer.format, offset))

    def _make_room(self, n_bytes: int) -> None:
        """An append past the buffer's limit is refused; while turn detection hears no speech, the oldest
        half of the buffer (silence no turn will commit) makes room instead."""
        limits = self.host.session_limits
        full = buffer_full(self.buffer.duration_ms, self.buffer.format.duration_ms(n_bytes), limits)
        if full is None:
            return
        if self.detector is None or self.detector.speaking or n_bytes > self.buffer.format.bytes_for_ms(
                limits.max_input_audio_ms // 2):
            raise full
        self.buffer.take(None, self.buffer.end_ms - limits.max_input_audio_ms / 2)

    def commit(self) -> None:
        held = self.buffer.duration_ms
        if held < MIN_COMMIT_MS:
            raise ProtocolError("input_audio_buffer_commit_empty",
                                "Error committing input audio buffer: buffer too small. Expected at least "
                                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {held:.2f}ms of audio.")
        self._commit(self.buffer.take(), self._turn_item)

    def clear(self) -> None:
        self.buffer.clear()
        self._turn_item = None
        self.transcripts.drop_early()
        if self.detector is not None:
            self.detector.reset()
            self.host.effect(ResetSpeechDetector())
        self.host.emit("input_audio_buffer.cleared", {})

    def _commit(self, audio: bytes, item_id: str | None, early_ok: bool = False) -> Item:
        item = Item(id=item_id or new_id("item"), type="message", role="user", content=[
            Content(type="input_audio", transcript=None, audio=bytearray(audio), audio_format=self.buffer.format)])
        self._turn_item = None
        previous = self.host.conversation.insert(item)
        self.host.emit("input_audio_buffer.committed", {"previous_item_id": previous, "item_id": item.id})
        self.host.emit("conversation.item.added", {"previous_item_id": previous, "item": item})
        self.host.emit("conversation.item.done", {"previous_item_id": previous, "item": item})
        self.transcripts.transcribe_if_needed(item, early_ok)
        return item

    # -- turn detection -------------------------------------------------------------------------
    def on_speech_frame(self, start_ms: int, end_ms: int, probability: float) -> None:
        """The VAD result of one frame of the input stream (the session settles what it queued before the next)."""
        if self.detector is not None:
            for event in self.detector.frame(start_ms, end_ms, probability):
                self._turn_event(event)

    @property
    def turn_item(self) -> str | None:
        """The item id of the turn being heard (the committed item will have it)."""
        return self._turn_item

    def early_words(self, text: str) -> bool:
        """The turn's words up to the pause (``semantic_vad`` may end the turn on them). True when an answer to
        them may be prepared: they read as finished (Whisper punctuates), ``server_vad``'s turn is still paused
        after them (its silence window has a few hundred milliseconds to go) and a response follows should it
        end here. ``semantic_vad`` ends its turn as soon as finished words are followed by enough quiet, so what
        is left paused is a gap between words or unfinished words: preparing an answer there would only take the
        cores from the transcript."""
        if self.detector is None:
            return False
        read = reading(text)
        finished = read is Reading.FINISHED
        for event in self.detector.words_so_far(read):
            self._turn_event(event)
        td = self.host.config.audio.input.turn_detection
        return (self.detector.state is TurnState.PAUSED and finished and not self.detector.semantic
                and td is not None and td.create_response and isinstance(self.host.config, RealtimeSessionConfig))

    def _turn_event(self, event: TurnEvent) -> None:
        if isinstance(event, SpeechStarted):
            self._turn_item = new_id("item")
            start = max(event.audio_start_ms, self.buffer.start_ms)
            self.host.emit("input_audio_buffer.speech_started", {"audio_start_ms": start, "item_id": self._turn_item})
            self._speech_start_ms = start
            self.host.follow_up(TurnStarted())
        elif isinstance(event, SilenceStarted):
            if self._turn_item is not None and self.host.early_transcripts:  # the turn may be over: transcribe now
                audio = self.buffer.peek(self._speech_start_ms, event.at_ms + EARLY_TAIL_MS)
                self.transcripts.start_early(self._turn_item, audio, self.buffer.format)
                if self.detector is not None:
                    self.detector.words_coming()
        elif isinstance(event, SpeechResumed):
            self.transcripts.drop_early()
        else:
            self._speech_stopped(event)

    def _speech_stopped(self, event: SpeechStopped) -> None:
        item_id = self._turn_item or new_id("item")
        self.host.emit("input_audio_buffer.speech_stopped", {"audio_end_ms": event.audio_end_ms, "item_id": item_id})
        self._turn_item = item_id
        self._commit(self.buffer.take(self._speech_start_ms, event.commit_end_ms), item_id, early_ok=True)
        self._idle_from_ms = event.commit_end_ms
        td = self.host.config.audio.input.turn_detection
        if td is not None and td.create_response and isinstance(self.host.config, RealtimeSessionConfig):
            self.host.follow_up(TurnEnded())

    def response_finished(self) -> None:
        self._idle_from_ms = self.buffer.end_ms

    def check_idle(self) -> None:
        """After a run of frames: a turn ends if the user said nothing for ``idle_timeout_ms``."""
        td = self.host.config.audio.input.turn_detection
        if not isinstance(td, ServerVad) or td.idle_timeout_ms is None or self.detector is None:
            return
        if self.detector.speaking or self.host.responding():
            return
        now = self.buffer.end_ms
        if now - self._idle_from_ms < td.idle_timeout_ms:
            return
        item_id = new_id("item")
        self.host.emit("input_audio_buffer.timeout_triggered",
                       {"audio_start_ms": self._idle_from_ms, "audio_end_ms": now, "item_id": item_id})
        self._idle_from_ms = now
        if self.buffer.duration_ms >= MIN_COMMIT_MS:
            self._commit(self.buffer.take(), item_id)
        if isinstance(self.host.config, RealtimeSessionConfig):
            self.host.follow_up(TurnEnded())
