"""Connection-level limits: how many sessions at once (per server and per API key) and frames per second.

Configured in the ``"limits"`` object of the ``"realtime"`` section (README, *Limits*); the per-session
sizes (input buffer, conversation) are :class:`~ovos_realtime_plugin.core.limits.SessionLimits`.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from ovos_realtime_plugin.core.errors import ProtocolError
from ovos_realtime_plugin.core.limits import SessionLimits

CLOSE_SESSION_LIMIT = 1013  # "try again later"
DEFAULT_FRAMES_PER_S = 2500.0
"""A file streamed in 20 ms chunks at 50x real time still fits; a flood of tiny frames does not."""


def limit_settings(section: dict[str, Any]) -> dict[str, Any]:
    """``ServerSettings`` fields from the ``"limits"`` object (absent keys keep their defaults); a value that is
    not a number in its range is refused with a ``ValueError`` naming it (the daemon exits with status 2)."""
    values: dict[str, Any] = {}
    if "outbox_bytes" in section:
        values["outbox_budget_bytes"] = _whole(section, "outbox_bytes", 1)
    if "max_sessions" in section:
        values["max_sessions"] = _whole(section, "max_sessions", 1)
    if "max_voice_sessions" in section:
        values["max_voice_sessions"] = _whole(section, "max_voice_sessions", 0)  # 0: no limit
    if section.get("voice_busy_line"):
        values["voice_busy_line"] = str(section["voice_busy_line"])
    if "frames_per_second" in section:
        values["max_frames_per_s"] = _positive(section, "frames_per_second")
    defaults = SessionLimits()
    values["session_limits"] = SessionLimits(
        max_input_audio_ms=round(_positive(section, "input_audio_buffer_s", defaults.max_input_audio_ms / 1000) * 1000),
        max_items=_whole(section, "conversation_items", 1, defaults.max_items),
        max_conversation_bytes=_whole(section, "conversation_bytes", 1, defaults.max_conversation_bytes))
    return values


def _number(section: dict[str, Any], key: str, default: float | None) -> float:
    """A finite number (written as one, or as a string of one)."""
    value = section.get(key, default)
    try:
        number = float(value) if isinstance(value, int | float | str) and not isinstance(value, bool) else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ValueError(f'"limits": {{"{key}": ...}} must be a number, not {value!r}')
    return number


def _whole(section: dict[str, Any], key: str, least: int, default: int | None = None) -> int:
    value = _number(section, key, default)
    if value != int(value) or value < least:
        raise ValueError(f'"limits": {{"{key}": ...}} must be a whole number of at least {least}, not {value:g}')
    return int(value)


def _positive(section: dict[str, Any], key: str, default: float | None = None) -> float:
    value = _number(section, key, default)
    if value <= 0:
        raise ValueError(f'"limits": {{"{key}": ...}} must be a number above 0, not {value:g}')
    return value


class FrameRate:
    """A token bucket: ``per_second`` events a second on average, bursts up to ``burst`` (default one second's
    worth)."""

    def __init__(self, per_second: float, now: float, burst: float | None = None) -> None:
        self.per_second = per_second
        self.burst = per_second if burst is None else burst
        self._tokens = self.burst
        self._at = now

    def allow(self, now: float) -> bool:
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.per_second)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


def too_fast(per_second: float) -> ProtocolError:
    return ProtocolError("rate_limit_exceeded", f"Too many events: at most {per_second:g} a second on one "
                                                "connection. This event was ignored.", None, "rate_limit_error")


class SessionCounter:
    """Open sessions, in all and per key name; :meth:`open` refuses one past either limit."""

    def __init__(self, max_sessions: int) -> None:
        self.max_sessions = max_sessions
        self.total = 0
        self._per_key: Counter[str] = Counter()

    def open(self, key_name: str | None, key_max: int | None) -> ProtocolError | None:
        if self.total >= self.max_sessions:
            return _limit_reached(f"This server has reached its limit of {self.max_sessions} concurrent sessions.")
        if key_name is not None and key_max is not None and self._per_key[key_name] >= key_max:
            return _limit_reached(f"This API key has reached its limit of {key_max} concurrent sessions.")
        self.total += 1
        if key_name is not None:
            self._per_key[key_name] += 1
        return None

    def close(self, key_name: str | None) -> None:
        self.total -= 1
        if key_name is not None:
            self._per_key[key_name] -= 1


def _limit_reached(message: str) -> ProtocolError:
    return ProtocolError("session_limit_reached", message, None, "invalid_request_error")
