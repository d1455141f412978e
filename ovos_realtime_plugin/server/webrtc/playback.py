"""What the outgoing audio track plays: answers' audio in order, silence between them, and the
``output_audio_buffer.*`` events OpenAI sends on WebRTC calls.

Pure bookkeeping (no aiortc): the track takes 20 ms at a time in real time; a barge-in clears the rest.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ovos_realtime_plugin.core.ids import event_id

RATE = 24000
BYTES_PER_MS = RATE * 2 // 1000


@dataclass
class _Chunk:
    response_id: str
    item_id: str
    pcm: bytes


@dataclass(frozen=True)
class Cut:
    """Where a cleared answer stopped: the item and how much of it was played."""

    response_id: str
    item_id: str
    played_ms: int


class Playback:
    def __init__(self, emit: Callable[[dict[str, Any]], None]) -> None:
        self.emit = emit
        self._chunks: deque[_Chunk] = deque()
        self._finished: set[str] = set()
        self._playing: str | None = None  # the response whose audio is being played
        self._item: str | None = None
        self._played: dict[str, int] = {}  # bytes played per item

    @property
    def playing(self) -> bool:
        return self._playing is not None

    def add(self, response_id: str, item_id: str, pcm16: bytes) -> None:
        self._chunks.append(_Chunk(response_id, item_id, pcm16))

    def finish(self, response_id: str) -> None:
        """The response has no more audio to come."""
        self._finished.add(response_id)

    def take(self, size: int) -> bytes:
        """The next ``size`` bytes to play: answer audio, padded with silence."""
        out = bytearray()
        while len(out) < size and self._chunks:
            chunk = self._chunks[0]
            if self._playing != chunk.response_id:
                self._start(chunk.response_id)
            self._item = chunk.item_id
            piece = chunk.pcm[:size - len(out)]
            out += piece
            self._played[chunk.item_id] = self._played.get(chunk.item_id, 0) + len(piece)
            chunk.pcm = chunk.pcm[len(piece):]
            if not chunk.pcm:
                self._chunks.popleft()
        if self._playing is not None and not self._chunks and self._playing in self._finished:
            self._event("output_audio_buffer.stopped", self._playing)
            self._finished.discard(self._playing)
            self._playing = None
        return bytes(out) + b"\x00" * (size - len(out))

    def clear(self) -> Cut | None:
        """Drop what is left; where the answer being played stopped (``None`` if none was)."""
        self._chunks.clear()
        if self._playing is None:
            return None
        cut = Cut(self._playing, self._item or "", self._played.get(self._item or "", 0) // BYTES_PER_MS)
        self._event("output_audio_buffer.cleared", self._playing)
        self._finished.discard(self._playing)
        self._playing = None
        return cut

    def _start(self, response_id: str) -> None:
        if self._playing is not None:
            self._event("output_audio_buffer.stopped", self._playing)
        self._playing = response_id
        self._event("output_audio_buffer.started", response_id)

    def _event(self, kind: str, response_id: str) -> None:
        self.emit({"type": kind, "event_id": event_id(), "response_id": response_id})
