"""Sample-rate conversion of 16-bit little-endian mono PCM with libsoxr."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import soxr

__all__ = ["QUALITY", "QUICK", "StreamResampler", "resample"]

QUALITY = "HQ"  # 20-bit precision, plenty for speech
# Cubic interpolation, no filter: what a stream's listener (the VAD) takes. A filter holds back output until
# input past it arrives: HQ 8-35 ms at 24 -> 16 kHz in 100 ms chunks, so a pause heard at a chunk's end waited
# for the next chunk. QQ holds back one sample, and on the 183 spoken commands of benchmarks/bench_stt_accuracy
# Silero v6 finds the same turns (the last pause on the same frame for 159, one frame apart for the rest).
QUICK = "QQ"
_PCM16 = np.dtype("<i2")


def _check_rates(from_rate: int, to_rate: int) -> None:
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError("sample rates must be positive")


def _to_bytes(samples: npt.NDArray[np.int16]) -> bytes:
    return np.asarray(samples, dtype=_PCM16).tobytes()


def resample(pcm16: bytes, from_rate: int, to_rate: int) -> bytes:
    """Convert a whole PCM16 buffer from one sample rate to another.

    Returns ``pcm16`` itself when the rates are equal.
    """
    _check_rates(from_rate, to_rate)
    if len(pcm16) % 2:
        raise ValueError("PCM16 data must have an even number of bytes")
    if from_rate == to_rate or not pcm16:
        return pcm16
    samples = np.frombuffer(pcm16, dtype=_PCM16)
    return _to_bytes(soxr.resample(samples, from_rate, to_rate, quality=QUALITY))


class StreamResampler:
    """Resample a PCM16 stream that arrives in chunks of any byte length.

    An odd trailing byte is held back until the next chunk completes the
    sample. ``flush()`` ends the stream, returns the resampler's pending
    output and leaves the object ready for a new stream; a half sample still
    held back at that point cannot be decoded and is dropped.
    """

    def __init__(self, from_rate: int, to_rate: int, quality: str = QUALITY) -> None:
        _check_rates(from_rate, to_rate)
        self.from_rate = from_rate
        self.to_rate = to_rate
        self.quality = quality
        self._pending = b""
        self._stream = self._new_stream()

    def _new_stream(self) -> soxr.ResampleStream | None:
        if self.from_rate == self.to_rate:
            return None
        return soxr.ResampleStream(self.from_rate, self.to_rate, 1, dtype="int16", quality=self.quality)

    def process(self, pcm16: bytes) -> bytes:
        """Feed one chunk; return whatever output is ready."""
        data = self._pending + pcm16
        whole = len(data) - len(data) % 2
        self._pending = data[whole:]
        if self._stream is None or whole == 0:
            return data[:whole]
        samples = np.frombuffer(data, dtype=_PCM16, count=whole // 2)
        return _to_bytes(self._stream.resample_chunk(samples))

    def flush(self) -> bytes:
        """End the stream and return the resampler's remaining output."""
        self._pending = b""
        if self._stream is None:
            return b""
        tail = _to_bytes(self._stream.resample_chunk(np.zeros(0, dtype=_PCM16), last=True))
        # A new stream rather than clear(): clear() keeps the int16 dither state,
        # so the next stream's output would not be reproducible.
        self._stream = self._new_stream()
        return tail
