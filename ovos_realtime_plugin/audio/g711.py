"""ITU-T G.711 mu-law and A-law codecs for 16-bit little-endian mono PCM.

Bit-exact with the Sun/CCITT reference implementation used by CPython's
``audioop`` (``lin2ulaw``/``ulaw2lin``/``lin2alaw``/``alaw2lin`` with width 2),
without importing ``audioop`` (removed in Python 3.13).

The algorithm runs once, vectorised, at import time to build lookup tables:
a 65536-entry encode table indexed by the ``uint16`` view of each sample and
a 256-entry decode table indexed by the code byte.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["alaw_decode", "alaw_encode", "ulaw_decode", "ulaw_encode"]

_PCM16 = np.dtype("<i2")
_PCM16_INDEX = np.dtype("<u2")

# Upper bound of each segment, on the reference's reduced-resolution scale.
_ULAW_SEGMENT_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_ALAW_SEGMENT_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159  # largest 14-bit magnitude before the bias is added


def _all_samples() -> npt.NDArray[np.int32]:
    """Every int16 value, in the order of its uint16 bit pattern."""
    return np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int32)


def _ulaw_encode_table() -> npt.NDArray[np.uint8]:
    value = _all_samples() >> 2  # 14-bit resolution
    negative = value < 0
    magnitude = np.minimum(np.abs(value), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    segment = np.searchsorted(_ULAW_SEGMENT_END, magnitude, side="left")
    mantissa = (magnitude >> np.minimum(segment + 1, 8)) & 0x0F
    code = np.where(segment >= 8, 0x7F, (segment << 4) | mantissa)
    return (code ^ np.where(negative, 0x7F, 0xFF)).astype(np.uint8)


def _alaw_encode_table() -> npt.NDArray[np.uint8]:
    value = _all_samples() >> 3  # 13-bit resolution
    negative = value < 0
    magnitude = np.where(negative, -value - 1, value)
    segment = np.searchsorted(_ALAW_SEGMENT_END, magnitude, side="left")
    mantissa = (magnitude >> np.clip(segment, 1, 8)) & 0x0F
    code = np.where(segment >= 8, 0x7F, (segment << 4) | mantissa)
    return (code ^ np.where(negative, 0x55, 0xD5)).astype(np.uint8)


def _ulaw_decode_table() -> npt.NDArray[np.int16]:
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    segment = (code & 0x70) >> 4
    magnitude = (((code & 0x0F) << 3) + _ULAW_BIAS) << segment
    linear = np.where(code & 0x80, _ULAW_BIAS - magnitude, magnitude - _ULAW_BIAS)
    return linear.astype(_PCM16)


def _alaw_decode_table() -> npt.NDArray[np.int16]:
    code = np.arange(256, dtype=np.int32) ^ 0x55
    segment = (code & 0x70) >> 4
    magnitude = ((code & 0x0F) << 4) + np.where(segment == 0, 0x08, 0x108)
    magnitude = np.where(segment > 1, magnitude << np.maximum(segment - 1, 0), magnitude)
    return np.where(code & 0x80, magnitude, -magnitude).astype(_PCM16)


_ULAW_ENCODE = _ulaw_encode_table()
_ALAW_ENCODE = _alaw_encode_table()
_ULAW_DECODE = _ulaw_decode_table()
_ALAW_DECODE = _alaw_decode_table()


def _encode(pcm16: bytes, table: npt.NDArray[np.uint8]) -> bytes:
    if len(pcm16) % 2:
        raise ValueError("PCM16 data must have an even number of bytes")
    samples = np.frombuffer(pcm16, dtype=_PCM16_INDEX)
    return table.take(samples).tobytes()


def _decode(data: bytes, table: npt.NDArray[np.int16]) -> bytes:
    return table.take(np.frombuffer(data, dtype=np.uint8)).tobytes()


def ulaw_encode(pcm16: bytes) -> bytes:
    """Encode PCM16 LE samples to G.711 mu-law, one byte per sample."""
    return _encode(pcm16, _ULAW_ENCODE)


def ulaw_decode(data: bytes) -> bytes:
    """Decode G.711 mu-law bytes to PCM16 LE samples."""
    return _decode(data, _ULAW_DECODE)


def alaw_encode(pcm16: bytes) -> bytes:
    """Encode PCM16 LE samples to G.711 A-law, one byte per sample."""
    return _encode(pcm16, _ALAW_ENCODE)


def alaw_decode(data: bytes) -> bytes:
    """Decode G.711 A-law bytes to PCM16 LE samples."""
    return _decode(data, _ALAW_DECODE)
