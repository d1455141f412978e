"""The speech engines as a connection's speech driver uses them: the interfaces it needs of STT, TTS and VAD, and
the engines loaded for the server (:class:`SpeechEngines`, shared by every connection)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ovos_realtime_plugin.core.stt import SttRequest, SttResult


class Transcriber(Protocol):
    async def hear(self, pcm16: bytes, rate: int, request: SttRequest) -> SttResult: ...


class Synthesizer(Protocol):
    """Speaks a sentence: whole (``synthesize``: a prepared answer), or handed to ``on_audio(pcm16, rate)`` piece by
    piece as it is made (``stream``; ``on_audio`` returning ``False`` stops it). An engine that makes sentences whole
    streams them in one piece (:class:`WholeSentences`)."""

    async def synthesize(self, text: str, voice: str | None, speed: float, lang: str) -> tuple[bytes, int]: ...

    async def stream(self, text: str, voice: str | None, speed: float, lang: str,
                     on_audio: Callable[[bytes, int], bool]) -> None: ...


@runtime_checkable
class SharedSentences(Synthesizer, Protocol):
    """A :class:`Synthesizer` that makes each sentence once for everyone who asks (``engines/spoken.py``): a
    sentence asked for ahead and asked for again later is one making, the later asker hearing it piece by piece
    from wherever it has got to."""

    makes_each_sentence_once: bool


class WholeSentences:
    """``stream`` for an engine that makes sentences whole: the sentence's audio in one piece."""

    async def synthesize(self, text: str, voice: str | None, speed: float, lang: str) -> tuple[bytes, int]:
        raise NotImplementedError

    async def stream(self, text: str, voice: str | None, speed: float, lang: str,
                     on_audio: Callable[[bytes, int], bool]) -> None:
        on_audio(*await self.synthesize(text, voice, speed, lang))


class SpeechDetector(Protocol):
    async def probabilities(self, pcm16_16k: bytes) -> list[float]: ...

    def reset(self) -> None: ...


@dataclass
class SpeechEngines:
    """The loaded engines; any may be missing (then that work reports a clear failure)."""

    stt: Transcriber | None = None
    tts: Synthesizer | None = None
    new_vad: Callable[[], SpeechDetector] | None = None
    language: str = "en-US"
    transcription_models: Mapping[str, Transcriber] = field(default_factory=dict)
    """``transcription.model`` name → the STT configured for it (``"realtime": {"transcription_models"}``)."""

    def transcriber(self, model: str | None) -> Transcriber | None:
        """The STT for a session's ``transcription.model``: the one configured for that name, else the default
        (an unknown name, none given, or a name configured for no plugin)."""
        return self.transcription_models.get(model, self.stt) if model else self.stt
