"""How a connection's speech work is queued: one lane per engine, in order (detections that queued up joined into
one), and long audio cut into pieces the STT hears whole."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from ovos_realtime_plugin.core import effects as fx

PIECE_S = 25  # Whisper hears 30 s at a time: longer audio is transcribed in pieces, cut where it is quietest
CUT_WINDOW_S = 5


def split_long_audio(pcm16: bytes, rate: int) -> list[bytes]:
    """Pieces of at most ``PIECE_S`` seconds, each cut at the quietest 50 ms in its last ``CUT_WINDOW_S`` s."""
    import numpy as np

    samples = np.frombuffer(pcm16, "<i2")
    longest, window, hop = PIECE_S * rate, CUT_WINDOW_S * rate, rate // 20
    pieces: list[bytes] = []
    start = 0
    while len(samples) - start > longest:
        region = samples[start + longest - window:start + longest].astype(np.float32)
        energy = np.abs(region[:len(region) // hop * hop]).reshape(-1, hop).mean(axis=1)
        cut = start + longest - window + int(np.argmin(energy)) * hop + hop // 2
        pieces.append(samples[start:cut].tobytes())
        start = cut
    pieces.append(samples[start:].tobytes())
    return pieces


class Lane:
    """One engine's work, in order. Audio for the VAD that queues up behind a running detection (a client
    sending faster than real time, or a busy machine) is joined into one job: one model call and one thread
    hop for all of it, instead of one per append."""

    def __init__(self) -> None:
        self._jobs: deque[tuple[Callable[[Any], Awaitable[None]], Any]] = deque()  # DetectSpeech gathered in lists
        self._ready = asyncio.Event()

    def put(self, run: Callable[[Any], Awaitable[None]], effect: Any) -> None:
        if isinstance(effect, fx.DetectSpeech) and self._jobs:
            _, last = self._jobs[-1]
            if isinstance(last, list) and last[0].format == effect.format:
                last.append(effect)
                return
        self._jobs.append((run, [effect] if isinstance(effect, fx.DetectSpeech) else effect))
        self._ready.set()

    async def get(self) -> tuple[Callable[[Any], Awaitable[None]], Any]:
        while not self._jobs:
            self._ready.clear()
            await self._ready.wait()
        run, job = self._jobs.popleft()
        if isinstance(job, list):  # the detections that queued up, as one
            job = fx.DetectSpeech(b"".join(part.audio for part in job), job[0].format, job[0].offset_ms)
        return run, job
