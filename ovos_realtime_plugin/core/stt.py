"""What a speech-to-text engine is asked and what it answers: plain data shared by the core, the speech driver
and the engines (no engine is imported here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LOGPROBS_INCLUDE = "item.input_audio_transcription.logprobs"
"""The ``include`` entry that asks for the transcript's token log-probabilities."""


@dataclass(frozen=True)
class TokenLogprob:
    """One token of a transcript with the natural log of its probability, as OpenAI sends it."""

    token: str
    logprob: float
    bytes: tuple[int, ...]

    def wire(self) -> dict[str, Any]:
        return {"token": self.token, "logprob": self.logprob, "bytes": list(self.bytes)}


@dataclass(frozen=True)
class SttRequest:
    """One transcription: the language, what the audio likely says (the session's ``prompt`` and ``keywords``),
    and whether token scores are wanted. An engine that takes no hints uses the language alone."""

    language: str
    prompt: str | None = None
    keywords: tuple[str, ...] = ()
    logprobs: bool = False


@dataclass(frozen=True)
class SttResult:
    """The words heard; ``logprobs`` is ``None`` when they were not asked for or the engine has no token scores."""

    text: str
    logprobs: tuple[TokenLogprob, ...] | None = None


def wire_logprobs(logprobs: tuple[TokenLogprob, ...] | None) -> list[dict[str, Any]] | None:
    return None if logprobs is None else [token.wire() for token in logprobs]
