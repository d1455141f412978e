"""Failures at the edge come back to the core as results, so nothing waits on work that broke.

A failed transcription fails exactly that item's transcript (responses waiting for it then start);
a failed sentence is reported and skipped (its response goes on); a failed VAD run is reported.
A bug of the core itself is told apart from the assistant's failures (:class:`CoreBug`), so it is
logged with its traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ovos_realtime_plugin.core import effects as fx
from ovos_realtime_plugin.core.session import SessionCore


def describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def report_failure(session: SessionCore, effect: fx.Effect, exc: BaseException) -> None:
    """Tell the core that the work ``effect`` asked for failed with ``exc``."""
    message = describe(exc)
    if isinstance(effect, fx.Transcribe):
        session.on_transcript_error(effect.item_id, f"transcription failed: {message}", effect.attempt)
    elif isinstance(effect, fx.Synthesize):
        session.on_speech_error(effect.response_id, effect.item_id, effect.seq,
                                f"speech synthesis failed: {message}")
    elif isinstance(effect, (fx.DetectSpeech, fx.ResetSpeechDetector)):
        session.on_speech_detection_error(f"speech detection failed: {message}")


class CoreBug(Exception):
    """The session core raised on a result it was given (a bug of ours, not of the assistant)."""


def to_core(callback: Callable[..., None], *args: Any) -> None:
    """Hand a result to the core, telling its bugs apart from the assistant's failures."""
    try:
        callback(*args)
    except Exception as exc:
        raise CoreBug(type(exc).__name__) from exc
