"""Per-session size limits, as the hosted service has them: configurable, checked by the core.

``max_input_audio_ms``: one input audio buffer holds at most this much audio; an append beyond it gets an
``error`` and its audio is not kept. ``max_items`` / ``max_conversation_bytes``: the conversation's size (audio
bytes and text characters); past either, the oldest items go as the session's ``truncation`` says (see
:mod:`.truncation`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ovos_realtime_plugin.core.errors import ProtocolError


@dataclass(frozen=True)
class SessionLimits:
    max_input_audio_ms: int = 5 * 60 * 1000
    max_items: int = 1000
    max_conversation_bytes: int = 32 * 1024 * 1024


def buffer_full(held_ms: float, adding_ms: float, limits: SessionLimits) -> ProtocolError | None:
    """The error for an append that would take the buffer past its limit, else ``None``."""
    if held_ms + adding_ms <= limits.max_input_audio_ms:
        return None
    return ProtocolError("input_audio_buffer_too_large",
                         f"The input audio buffer would exceed its limit of {limits.max_input_audio_ms}ms "
                         f"(it holds {held_ms:.0f}ms); the audio was not added. Commit or clear the buffer.",
                         "audio")
