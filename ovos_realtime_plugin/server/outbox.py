"""A connection's outbox: server events serialized once, queued for the one writer, within a byte budget.

A client that stops reading makes the socket's send block, so events pile up here. Past the budget the
client is over its share: :meth:`Outbox.put` drops everything queued and reports it, and the connection
closes the socket (see :mod:`.connection`). One event larger than the budget still goes when nothing else
waits, so a big ``conversation.item.retrieved`` is never refused on its own.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any

import orjson

_compact = json.JSONEncoder(separators=(",", ":")).encode


def encode(event: dict[str, Any]) -> str:
    """A server event's JSON text, compact: by orjson (ten times faster than the standard library on our
    events); what orjson refuses (a lone surrogate, an integer past 64 bits) by the standard library."""
    try:
        return orjson.dumps(event).decode()
    except TypeError:
        return _compact(event)


DEFAULT_BUDGET_BYTES = 4 * 1024 * 1024
Frame = tuple[dict[str, Any], str]
"""An event and its JSON text (the event stays for what is counted once it is sent)."""


class Outbox:
    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self.queued_bytes = 0
        """Bytes queued or being written (a frame counts until its send returns)."""
        self.overflowed = False
        self._frames: deque[Frame | None] = deque()
        self._ready = asyncio.Event()

    def put(self, event: dict[str, Any]) -> bool:
        """Queue one event; ``False`` (and nothing kept) once the budget is exceeded."""
        if self.overflowed:
            return False
        return self.put_frame((event, encode(event)))

    def put_frame(self, frame: Frame) -> bool:
        """Queue one event already encoded (a call's sideband gets the text its data channel gets)."""
        if self.overflowed:
            return False
        text = frame[1]
        if self.queued_bytes and self.queued_bytes + len(text) > self.budget_bytes:
            self.overflowed = True
            self._frames.clear()
            self._frames.append(None)
            self.queued_bytes = 0
            self._ready.set()
            return False
        self._frames.append(frame)
        self.queued_bytes += len(text)
        self._ready.set()
        return True

    def end(self) -> None:
        """No more events: the writer stops once the queue is written."""
        self._frames.append(None)
        self._ready.set()

    async def take(self) -> list[Frame] | None:
        """Every frame queued now, oldest first, for one write; ``None`` when the writer should stop."""
        while not self._frames:
            self._ready.clear()
            await self._ready.wait()
        frames = self._frames
        batch: list[Frame] = []
        while frames and (frame := frames[0]) is not None:
            batch.append(frame)
            frames.popleft()
        if not batch:
            frames.popleft()
            return None
        return batch

    def written(self, batch: list[Frame]) -> None:
        self.queued_bytes = max(0, self.queued_bytes - sum(len(text) for _, text in batch))
