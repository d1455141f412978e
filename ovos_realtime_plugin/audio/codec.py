"""Conversion between the Realtime API audio formats and PCM16 LE mono."""

from __future__ import annotations

from collections.abc import Callable

from ovos_realtime_plugin.audio import g711

__all__ = ["AUDIO_FORMATS", "decode_to_pcm16", "encode_from_pcm16", "whole_samples"]


def _identity(data: bytes) -> bytes:
    return data


_DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "audio/pcm": _identity,
    "audio/pcmu": g711.ulaw_decode,
    "audio/pcma": g711.alaw_decode,
}
_ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "audio/pcm": _identity,
    "audio/pcmu": g711.ulaw_encode,
    "audio/pcma": g711.alaw_encode,
}

AUDIO_FORMATS = frozenset(_DECODERS)


def _lookup(table: dict[str, Callable[[bytes], bytes]], fmt_type: str) -> Callable[[bytes], bytes]:
    try:
        return table[fmt_type]
    except KeyError:
        known = ", ".join(sorted(table))
        raise ValueError(f"unsupported audio format {fmt_type!r}; expected one of {known}") from None


def decode_to_pcm16(data: bytes, fmt_type: str) -> bytes:
    """Decode audio in ``fmt_type`` to PCM16 LE; ``audio/pcm`` passes through."""
    return _lookup(_DECODERS, fmt_type)(data)


def encode_from_pcm16(pcm16: bytes, fmt_type: str) -> bytes:
    """Encode PCM16 LE audio as ``fmt_type``; ``audio/pcm`` passes through."""
    return _lookup(_ENCODERS, fmt_type)(pcm16)


def whole_samples(pcm16: bytes) -> bytes:
    """PCM16 of a whole recording: a torn last sample (an odd byte count) cannot be decoded and is dropped."""
    return pcm16[:len(pcm16) - 1] if len(pcm16) % 2 else pcm16
