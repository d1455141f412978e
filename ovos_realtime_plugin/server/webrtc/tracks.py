"""The call's audio at the edge: the browser's microphone in (Opus 48 kHz → PCM16 24 kHz mono, resampled
once by av), the answers out as a track paced in real time (20 ms frames, silence between answers)."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from ovos_realtime_plugin.server.webrtc.playback import BYTES_PER_MS, RATE, Playback

FRAME_MS = 20
FRAME_SAMPLES = RATE * FRAME_MS // 1000
MIC_BATCH_MS = 40  # the microphone's audio goes to the session in pieces of this length


class AnswerTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, playback: Playback) -> None:
        super().__init__()
        self.playback = playback
        self._start: float | None = None
        self._pts = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._pts += FRAME_SAMPLES
            wait = self._start + self._pts / RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(self.playback.take(FRAME_SAMPLES * 2))
        frame.pts = self._pts
        frame.sample_rate = RATE
        frame.time_base = fractions.Fraction(1, RATE)
        return frame


async def pump_microphone(track: MediaStreamTrack, deliver: Callable[[bytes], None]) -> None:
    """Hand the track's audio, as PCM16 24 kHz mono, to ``deliver`` until the track ends."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)  # one per stream: it keeps state
    pending = bytearray()
    batch = MIC_BATCH_MS * BYTES_PER_MS
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        for out in resampler.resample(frame):  # type: ignore[arg-type]
            pending += bytes(out.planes[0])[:out.samples * 2]
        if len(pending) >= batch:
            deliver(bytes(pending))
            pending.clear()
