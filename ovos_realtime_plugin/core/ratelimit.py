"""Per-session request and token budgets over a rolling minute, reported as ``rate_limits.updated``."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

WINDOW_S = 60.0


@dataclass(frozen=True)
class RateLimitSettings:
    requests_per_minute: int = 600
    tokens_per_minute: int = 200_000


class RateLimiter:
    """Counts requests and tokens with timestamps; the clock is given by the caller (sans-I/O)."""

    def __init__(self, settings: RateLimitSettings) -> None:
        self.settings = settings
        self._requests: deque[float] = deque()
        self._tokens: deque[tuple[float, int]] = deque()
        self._token_total = 0
        """The sum of ``_tokens``, kept as they come and go (every response reads it)."""

    def _expire(self, now: float) -> None:
        while self._requests and now - self._requests[0] >= WINDOW_S:
            self._requests.popleft()
        while self._tokens and now - self._tokens[0][0] >= WINDOW_S:
            self._token_total -= self._tokens.popleft()[1]

    def tokens_used(self, now: float) -> int:
        self._expire(now)
        return self._token_total

    def check(self, now: float) -> str | None:
        """``None`` when a new request may start, else which limit is exhausted."""
        self._expire(now)
        if len(self._requests) >= self.settings.requests_per_minute:
            return "requests"
        if self.tokens_used(now) >= self.settings.tokens_per_minute:
            return "tokens"
        return None

    def record_request(self, now: float) -> None:
        self._requests.append(now)

    def record_tokens(self, now: float, tokens: int) -> None:
        self._tokens.append((now, tokens))
        self._token_total += tokens

    def reset_seconds(self, now: float, name: str) -> float:
        self._expire(now)
        oldest = self._requests[0] if name == "requests" and self._requests else (
            self._tokens[0][0] if name == "tokens" and self._tokens else None)
        return 0.0 if oldest is None else round(WINDOW_S - (now - oldest), 3)

    def report(self, now: float) -> list[dict[str, Any]]:
        self._expire(now)
        s = self.settings
        return [
            {"name": "requests", "limit": s.requests_per_minute,
             "remaining": max(0, s.requests_per_minute - len(self._requests)),
             "reset_seconds": self.reset_seconds(now, "requests")},
            {"name": "tokens", "limit": s.tokens_per_minute,
             "remaining": max(0, s.tokens_per_minute - self.tokens_used(now)),
             "reset_seconds": self.reset_seconds(now, "tokens")},
        ]
