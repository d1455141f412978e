"""Base64 of audio as the standard library reads and writes it, at SIMD speed (``pybase64``).

Every ``input_audio_buffer.append`` carries 100 ms or so of audio as ~6 KB of base64: the standard library
decodes that in ~35 µs, ``pybase64`` in ~2 µs. Where ``pybase64`` accepts the text the standard library accepts
it too, with the same bytes (checked on the usual malformations and on fuzzed text); where it refuses, the
standard library decides, so what is accepted or refused is exactly what ``base64.b64decode(text,
validate=True)`` accepts or refuses (it takes "AAAA=", with padding past the end, which ``pybase64`` does not).
"""

from __future__ import annotations

import base64
import binascii

import pybase64


def decode(text: str | bytes) -> bytes:
    """``base64.b64decode(text, validate=True)``: raises ``binascii.Error`` or ``ValueError`` on what it refuses."""
    try:
        return pybase64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return base64.b64decode(text, validate=True)


def encode(data: bytes | bytearray | memoryview) -> str:
    """``base64.b64encode(data).decode("ascii")``."""
    return pybase64.b64encode(data).decode("ascii")
