"""The thin edge a :class:`~.connection.Connection` talks through: frames in, events out, a close.

A WebSocket is one implementation (:mod:`.ws_transport`), a WebRTC data channel the other
(:mod:`.webrtc.channel`); the session core behind them is the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from ovos_realtime_plugin.server.outbox import Frame


class Transport(Protocol):
    def frames(self) -> AsyncIterator[str | bytes]:
        """The client's frames until it goes away."""
        ...

    async def send(self, frames: Sequence[Frame]) -> bool:
        """Send server events, in order (each with its JSON text); ``False`` once the peer is gone."""
        ...

    async def close(self, code: int, reason: str) -> None: ...
