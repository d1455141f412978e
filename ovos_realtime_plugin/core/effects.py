"""Effects: what the sans-I/O core asks its driver to do. The driver reports results back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ovos_realtime_plugin.core.assistant import AssistantRequest
from ovos_realtime_plugin.core.formats import AudioFormat


@dataclass(frozen=True)
class RunAssistant:
    """Start answering; feed outputs back with ``on_assistant_output`` / ``on_assistant_end``."""

    request: AssistantRequest


@dataclass(frozen=True)
class CancelResponse:
    """Stop the assistant and any synthesis of this response at once; late results are ignored."""

    response_id: str


@dataclass(frozen=True)
class Synthesize:
    """Speak one sentence; report audio in ``format`` with ``on_speech_audio`` then ``on_speech_end``.

    Synthesis requests of one response must be carried out in the order they were issued.
    """

    response_id: str
    item_id: str
    seq: int
    text: str
    voice: str
    speed: float
    language: str | None
    format: AudioFormat
    prepared: str | None = None
    """The key of a :class:`PrepareSpeech` sentence that is this one: its audio, if it is ready, is this
    sentence's."""


@dataclass(frozen=True)
class Transcribe:
    """Transcribe user audio; report with ``on_transcript`` or ``on_transcript_error``, passing ``attempt`` back.

    ``attempt`` 0 is a committed item. A positive ``attempt`` is speculative: the user's turn has paused and may
    be over; the result is kept if the turn does end there, and dropped if speech resumes (ask
    ``transcript_wanted`` before spending time on it).

    ``model`` is the session's ``transcription.model`` (it picks the STT plugin: the server's
    ``"transcription_models"``); ``keywords`` and ``prompt`` are hints for engines that take them; ``logprobs``:
    the session's ``include`` asks for token scores.
    """

    item_id: str
    audio: bytes
    format: AudioFormat
    language: str | None
    prompt: str | None
    attempt: int = 0
    model: str | None = None
    keywords: tuple[str, ...] = ()
    logprobs: bool = False


@dataclass(frozen=True)
class Anticipate:
    """The user paused and the words so far are ``text``: if the turn ends here, a response the server creates
    will answer them with these settings. The driver may prepare that answer (work without side effects only)
    so it can start the moment the turn ends; nothing is reported back. What was prepared is used only by a
    response to that item with the same words; it is dropped when another ``Anticipate`` comes, or when a
    response to anything else starts. An answer found early comes back to the core (``early_answer``), which
    says what of it to synthesize (:class:`PrepareSpeech`).
    """

    text: str
    item_id: str
    """The paused turn's item: what was prepared answers a response to that item only."""
    language: str | None
    voice: str
    speed: float
    audio: bool
    tools: tuple[dict[str, Any], ...]
    tool_choice: str | dict[str, Any]
    model: str
    """The session's ``model``, as the response's request will carry it (it may pick who answers)."""


@dataclass(frozen=True)
class PreparedSentence:
    """A sentence to synthesize ahead; ``key`` is what the :class:`Synthesize` that speaks it will carry."""

    key: str
    text: str


@dataclass(frozen=True)
class PrepareSpeech:
    """Synthesize these sentences of an answer found early, before any response asks for them, and keep their
    audio by key: a later :class:`Synthesize` whose ``prepared`` names a key uses that audio (and the key is then
    spent). Nothing is reported back; if preparing fails, that ``Synthesize`` synthesizes the sentence itself.
    The audio is kept until a ``Synthesize`` takes it, :class:`DropPreparedSpeech` names it, or the session ends.
    """

    sentences: tuple[PreparedSentence, ...]
    voice: str
    speed: float
    language: str | None


@dataclass(frozen=True)
class DropPreparedSpeech:
    """No response will speak these prepared sentences (another pause, a response to something else, an answer
    that turned out different): let their audio go, and do not start making it."""

    keys: tuple[str, ...]


@dataclass(frozen=True)
class DetectSpeech:
    """Run voice activity detection on newly appended input audio (``offset_ms`` into the input stream)."""

    audio: bytes
    format: AudioFormat
    offset_ms: int


@dataclass(frozen=True)
class ResetSpeechDetector:
    """The input buffer was cleared or committed: forget partial VAD state."""


Effect = (RunAssistant | CancelResponse | Synthesize | Transcribe | Anticipate | PrepareSpeech
          | DropPreparedSpeech | DetectSpeech | ResetSpeechDetector)
