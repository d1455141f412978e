"""Speech work that broke comes back to the core as a result, so nothing waits on it forever.

A failed transcription fails exactly that item's transcript (responses waiting for it then start);
a failed sentence is reported and skipped (its response goes on); a failed VAD run is reported.
"""

from __future__ import annotations

from ovos_realtime_plugin.core import effects as fx
from ovos_realtime_plugin.core.session import RealtimeSession


def describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def report_failure(session: RealtimeSession, effect: fx.Effect, exc: BaseException) -> None:
    """Tell the core that the work ``effect`` asked for failed with ``exc``."""
    message = describe(exc)
    if isinstance(effect, fx.Transcribe):
        session.on_transcript_error(effect.item_id, f"transcription failed: {message}", effect.attempt)
    elif isinstance(effect, fx.Synthesize):
        session.on_speech_error(effect.response_id, effect.item_id, effect.seq,
                                f"speech synthesis failed: {message}")
    elif isinstance(effect, (fx.DetectSpeech, fx.ResetSpeechDetector)):
        session.on_speech_detection_error(f"speech detection failed: {message}")
