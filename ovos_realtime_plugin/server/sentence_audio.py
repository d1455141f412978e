"""One sentence's audio on its way to the client, piece by piece as the TTS engine makes it."""

from __future__ import annotations

from collections.abc import Callable

from ovos_realtime_plugin.audio.codec import encode_from_pcm16
from ovos_realtime_plugin.audio.resample import StreamResampler
from ovos_realtime_plugin.core import effects as fx
from ovos_realtime_plugin.core.session import SessionCore
from ovos_realtime_plugin.server.failures import to_core

CHUNK_MS = 100  # audio deltas sent to clients are cut to at most this length


class SentenceAudio:
    """Resamples and encodes a sentence's pieces into its response's format as they come, and hands them to the
    core in deltas of at most :data:`CHUNK_MS`; once the response is cancelled, takes no more. A bug of the core
    raises :class:`~.failures.CoreBug` (not a TTS failure)."""

    def __init__(self, session: SessionCore, job: fx.Synthesize, flush: Callable[[], None],
                 cancelled: Callable[[], bool]) -> None:
        self.session = session
        self.job = job
        self.flush = flush
        self.cancelled = cancelled
        self._resampler: StreamResampler | None = None

    def send(self, pcm16: bytes, rate: int) -> bool:
        """Send a piece of PCM16 at ``rate``; ``False``: the response was cancelled, make no more."""
        if self.cancelled():
            return False
        if self._resampler is None:
            self._resampler = StreamResampler(rate, self.job.format.rate)
        elif rate != self._resampler.from_rate:
            raise ValueError(f"the sentence's audio changed rate ({self._resampler.from_rate} -> {rate} Hz)")
        self._emit(self._resampler.process(pcm16))
        return True

    def finish(self) -> None:
        """The sentence is whole: send what the resampler still holds."""
        if self._resampler is not None and not self.cancelled():
            self._emit(self._resampler.flush())

    def _emit(self, pcm16: bytes) -> None:
        job = self.job
        audio = encode_from_pcm16(pcm16, job.format.type)
        step = job.format.bytes_for_ms(CHUNK_MS)
        for start in range(0, len(audio), step):
            to_core(self.session.on_speech_audio, job.response_id, job.item_id, audio[start:start + step])
        if audio:
            self.flush()
