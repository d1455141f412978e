"""How many sessions may talk to one server at once, and what a session past that meets (docs/SCALING.md).

A session is a *voice* session from the first time its input audio reaches the speech engines (voice activity
detection or a transcription) until it closes; sessions that only exchange text, or only hear audio answers, never
count: what one daemon can take is set by its STT and TTS, shared by all sessions. Past the limit
(``"limits": {"max_voice_sessions"}``; by default :data:`VOICE_SESSIONS_PER_CORE` per core the daemon may use):

- by default the session is refused at its first audio: one ``error`` ``session_limit_reached`` and close 1013
  (*try again later*), as a session past ``max_sessions`` is refused at connect;
- with ``"limits": {"voice_busy_line": "..."}`` it stays open and each of its turns is answered with that sentence,
  synthesized once at start-up and served from memory (no STT, no assistant, no TTS call), until a voice session
  ends and its next turn takes the freed place.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from ovos_realtime_plugin.core.assistant import Assistant, AssistantOutput, AssistantRequest, TextDelta
from ovos_realtime_plugin.core.effects import Anticipate
from ovos_realtime_plugin.core.errors import ProtocolError
from ovos_realtime_plugin.core.prepared_speech import sentences_of
from ovos_realtime_plugin.core.stt import SttRequest, SttResult
from ovos_realtime_plugin.engines.choice import usable_cores
from ovos_realtime_plugin.server.closing import reject
from ovos_realtime_plugin.server.speech_engines import SpeechDetector, SpeechEngines, Synthesizer, Transcriber
from ovos_realtime_plugin.server.transport import Transport

log = logging.getLogger(__name__)
VOICE_SESSIONS_PER_CORE = 8
"""Sessions that may all finish a question in the same second and each be answered, on the offline engines, well
within the engines' queue bound (docs/SCALING.md)."""


def default_voice_sessions() -> int:
    return VOICE_SESSIONS_PER_CORE * usable_cores()


class VoiceCapacity:
    """The server's voice sessions, and the busy line's audio."""

    def __init__(self, limit: int, busy_line: str | None = None) -> None:
        """``limit``: at most this many voice sessions (``0``: no limit)."""
        self.limit = limit
        self.busy_line = busy_line or None
        self.voice: set[str] = set()  # ids of the sessions holding a place
        self.busy_audio: dict[str, tuple[bytes, int]] = {}  # each sentence of the busy line, spoken
        self._refusing: set[asyncio.Future[None]] = set()

    def admit(self, session_id: str) -> bool:
        """Whether ``session_id`` may use the speech engines: it holds a place, or takes a free one."""
        if session_id in self.voice:
            return True
        if self.limit and len(self.voice) >= self.limit:
            return False
        self.voice.add(session_id)
        return True

    def release(self, session_id: str) -> None:
        self.voice.discard(session_id)

    def refusal(self) -> ProtocolError:
        return ProtocolError("session_limit_reached", f"This server has reached its limit of {self.limit} "
                             "concurrent voice sessions.", None, "invalid_request_error")

    async def prepare(self, speech: SpeechEngines | None, language: str) -> None:
        """Speak the busy line once, sentence by sentence, as the core says its responses will cut it."""
        if self.busy_line is None or speech is None or speech.tts is None:
            return
        try:
            for sentence in sentences_of(self.busy_line):
                self.busy_audio[sentence] = await speech.tts.synthesize(sentence, None, 1.0, language)
        except Exception as exc:  # then each busy answer is synthesized like any other
            log.warning("could not synthesize the busy line ahead (%s): it will be spoken as it is needed", exc)
            self.busy_audio.clear()

    def connect(self, session_id: str, speech: SpeechEngines | None, assistant: Assistant,
                transport: Transport) -> tuple[SpeechEngines | None, Assistant]:
        """The engines and the assistant as the session on ``transport`` sees them."""
        if speech is None:
            return None, assistant
        gate = VoiceGate(self, session_id, speech, lambda: self._refuse(transport))
        return gate.engines(), gate.assistant(assistant)

    def _refuse(self, transport: Transport) -> None:
        refusing = asyncio.ensure_future(reject(transport, self.refusal()))
        self._refusing.add(refusing)
        refusing.add_done_callback(self._refusing.discard)


@dataclass
class VoiceGate:
    """One session's way to the speech engines: its first input audio takes a place, or meets what a session past
    the limit meets (:mod:`~ovos_realtime_plugin.server.voice_capacity`)."""

    capacity: VoiceCapacity
    session_id: str
    speech: SpeechEngines
    refuse: Callable[[], None]
    turn_refused: bool = False
    """Its latest transcription found no place: the response to that turn is the busy line."""
    refused: bool = field(default=False, init=False)

    def engines(self) -> SpeechEngines:
        """The engines for the session's speech driver."""
        inner = self.speech
        return GatedEngines(stt=inner.stt, tts=self._synthesizer(inner.tts),
                            new_vad=self._new_vad if inner.new_vad is not None else None,
                            language=inner.language, transcription_models=inner.transcription_models, gate=self)

    def assistant(self, inner: Assistant) -> Assistant:
        return BusyLineAssistant(inner, self) if self.capacity.busy_line else inner

    def admit(self) -> bool:
        """Whether this session's audio may go to the engines now; the first refusal without a busy line closes
        the session."""
        if self.refused:
            return False
        if self.capacity.admit(self.session_id):
            return True
        if self.capacity.busy_line is None:
            self.refused = True
            log.warning("session %s refused at its first audio: %d voice sessions already", self.session_id,
                        len(self.capacity.voice))
            self.refuse()
        return False

    def _new_vad(self) -> SpeechDetector:
        new_vad = self.speech.new_vad
        assert new_vad is not None
        if self.admit() or self.capacity.busy_line is not None:
            return new_vad()  # a session without a place still has its turns heard, to answer them busy
        return Deaf()

    def _synthesizer(self, tts: Synthesizer | None) -> Synthesizer | None:
        if tts is None or not self.capacity.busy_line:
            return tts
        return BusyLineSynthesizer(tts, self.capacity.busy_audio)


@dataclass
class GatedEngines(SpeechEngines):
    gate: VoiceGate | None = None

    def transcriber(self, model: str | None) -> Transcriber | None:
        stt = super().transcriber(model)
        if stt is None or self.gate is None:
            return stt
        gate = self.gate
        admitted = gate.admit()
        gate.turn_refused = not admitted
        return stt if admitted else NoPlace(None if gate.capacity.busy_line else gate.capacity.refusal().message)


class Deaf:
    """The detector of a session being refused: it hears nothing."""

    async def probabilities(self, pcm16_16k: bytes) -> list[float]:
        return []

    def reset(self) -> None:
        pass


class NoPlace:
    """The transcriber of a turn that found no place, at once: no words (its response answers with the busy line),
    or, for a session being refused, a failure that says why."""

    def __init__(self, refusal: str | None) -> None:
        self.refusal = refusal

    async def hear(self, pcm16: bytes, rate: int, request: SttRequest) -> SttResult:
        if self.refusal is not None:
            raise RuntimeError(self.refusal)
        return SttResult("")


class BusyLineSynthesizer:
    """The engine's synthesizer, but the busy line's sentences from memory (no engine call, however busy)."""

    def __init__(self, inner: Synthesizer, spoken: dict[str, tuple[bytes, int]]) -> None:
        self.inner = inner
        self.spoken = spoken

    async def synthesize(self, text: str, voice: str | None, speed: float, lang: str) -> tuple[bytes, int]:
        audio = self.spoken.get(text)
        return audio if audio is not None else await self.inner.synthesize(text, voice, speed, lang)

    async def stream(self, text: str, voice: str | None, speed: float, lang: str,
                     on_audio: Callable[[bytes, int], bool]) -> None:
        audio = self.spoken.get(text)
        if audio is not None:
            on_audio(*audio)
        else:
            await self.inner.stream(text, voice, speed, lang, on_audio)


class BusyLineAssistant:
    """The session's assistant, except for a turn that found no place: that one is answered with the busy line."""

    def __init__(self, inner: Assistant, gate: VoiceGate) -> None:
        self.inner = inner
        self.gate = gate

    def respond(self, request: AssistantRequest) -> AsyncIterator[AssistantOutput]:
        if self.gate.turn_refused:
            return self._busy()
        return self.inner.respond(request)

    async def _busy(self) -> AsyncIterator[AssistantOutput]:
        yield TextDelta(self.gate.capacity.busy_line or "", utterance_end=True)

    def anticipate(self, words: Anticipate, session_id: str, speak_early: Callable[[str], None] | None) -> None:
        if not self.gate.turn_refused:
            self.inner.anticipate(words, session_id, speak_early)

    def close(self) -> Awaitable[None] | None:
        return self.inner.close()
