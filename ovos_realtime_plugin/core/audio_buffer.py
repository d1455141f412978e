"""The input audio buffer: appended audio, addressed in milliseconds of the session's input stream."""

from __future__ import annotations

from ovos_realtime_plugin.core.formats import AudioFormat


class InputAudioBuffer:
    """Holds uncommitted input audio. Grows in place (``bytearray.extend``), never by copying."""

    def __init__(self, fmt: AudioFormat) -> None:
        self.format = fmt
        self._data = bytearray()
        self._base_ms = 0.0  # stream time of the first byte held

    @property
    def duration_ms(self) -> float:
        return len(self._data) / self.format.bytes_per_ms

    @property
    def start_ms(self) -> int:
        """Stream time of the oldest audio held."""
        return int(self._base_ms)

    @property
    def end_ms(self) -> int:
        """Stream time just after the newest audio: the total input so far."""
        return int(self._base_ms + self.duration_ms)

    def append(self, data: bytes) -> int:
        """Add audio; returns the stream time (ms) at which it starts."""
        start = self.end_ms
        self._data.extend(data)
        return start

    def _offset(self, stream_ms: float) -> int:
        n = self.format.bytes_for_ms(int(max(0.0, stream_ms - self._base_ms)))
        return min(n, len(self._data))

    def peek(self, start_ms: float, end_ms: float) -> bytes:
        """A copy of the audio between two stream times, leaving the buffer as it is."""
        end = self._offset(end_ms)
        return bytes(self._data[min(self._offset(start_ms), end):end])

    def take(self, start_ms: float | None = None, end_ms: float | None = None) -> bytes:
        """Remove and return the audio up to ``end_ms`` (all when ``None``), dropping what lies before ``start_ms``."""
        end = len(self._data) if end_ms is None else self._offset(end_ms)
        start = 0 if start_ms is None else min(self._offset(start_ms), end)
        chunk = bytes(self._data[start:end])
        del self._data[:end]
        self._base_ms += end / self.format.bytes_per_ms
        return chunk

    def clear(self) -> None:
        self.take()

    def set_format(self, fmt: AudioFormat) -> None:
        """A new input format: audio held in the old one is dropped (it cannot be mixed)."""
        if fmt != self.format:
            self.clear()
            self.format = fmt
