"""The thin edge a :class:`~.connection.Connection` talks through: frames in, events out, a close.

A WebSocket is one implementation (:mod:`.ws_transport`), a WebRTC data channel the other
(:mod:`.webrtc.channel`); the session core behind them is the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol


class Transport(Protocol):
    def frames(self) -> AsyncIterator[str | bytes]:
        """The client's frames until it goes away."""
        ...

    async def send(self, event: dict[str, Any], frame: str) -> bool:
        """Send one server event (``frame`` is its JSON text); ``False`` once the peer is gone."""
        ...

    async def close(self, code: int, reason: str) -> None: ...
