"""Carries out the core's speech effects (VAD, STT, TTS) for one connection, in order, off the loop.

Each kind of work has one queue per connection so results come back in the order the core asked;
the engines themselves run their models in their own worker threads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ovos_realtime_plugin.audio.codec import decode_to_pcm16, encode_from_pcm16
from ovos_realtime_plugin.audio.resample import StreamResampler, resample
from ovos_realtime_plugin.core import effects as fx
from ovos_realtime_plugin.core.session import RealtimeSession

VAD_RATE = 16000
PIECE_S = 25  # Whisper hears 30 s at a time: longer audio is transcribed in pieces, cut where it is quietest
CUT_WINDOW_S = 5
VAD_FRAME_MS = 32
CHUNK_MS = 100  # audio deltas sent to clients are cut to this length


class Transcriber(Protocol):
    async def transcribe(self, pcm16: bytes, rate: int, lang: str) -> str: ...


class Synthesizer(Protocol):
    async def synthesize(self, text: str, voice: str | None, speed: float, lang: str) -> tuple[bytes, int]: ...


class SpeechDetector(Protocol):
    async def probabilities(self, pcm16_16k: bytes) -> list[float]: ...

    def reset(self) -> None: ...


@dataclass
class SpeechEngines:
    """The loaded engines; any may be missing (then that work reports a clear failure)."""

    stt: Transcriber | None = None
    tts: Synthesizer | None = None
    new_vad: Callable[[], SpeechDetector] | None = None
    language: str = "en-US"


class SpeechDriver:
    def __init__(self, session: RealtimeSession, engines: SpeechEngines | None, flush: Callable[[], None],
                 log: logging.LoggerAdapter[logging.Logger]) -> None:
        self.session = session
        self.engines = engines or SpeechEngines()
        self.flush = flush
        self.log = log
        self._cancelled: set[str] = set()
        self._queues: dict[str, asyncio.Queue[Any]] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._vad: SpeechDetector | None = None
        self._vad_resampler: StreamResampler | None = None
        self._vad_frames = 0
        self._vad_pending = 0

    def close(self) -> None:
        for worker in self._workers:
            worker.cancel()

    def cancel(self, response_id: str) -> None:
        self._cancelled.add(response_id)

    def execute(self, effect: fx.Effect) -> None:
        if isinstance(effect, fx.Synthesize):
            self._submit("tts", effect, self._synthesize)
        elif isinstance(effect, fx.Transcribe):
            self._submit("stt", effect, self._transcribe)
        elif isinstance(effect, fx.DetectSpeech):
            self._submit("vad", effect, self._detect)
        elif isinstance(effect, fx.ResetSpeechDetector):
            self._submit("vad", effect, self._reset_vad)

    def _submit(self, lane: str, effect: Any, run: Callable[[Any], Awaitable[None]]) -> None:
        queue = self._queues.get(lane)
        if queue is None:
            queue = self._queues[lane] = asyncio.Queue()
            self._workers.append(asyncio.create_task(self._drain(queue)))
        queue.put_nowait((run, effect))

    async def _drain(self, queue: asyncio.Queue[Any]) -> None:
        while True:
            run, effect = await queue.get()
            try:
                await run(effect)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug in our own speech plumbing: log it, keep the connection
                self.log.exception("speech work failed")
            self.flush()

    # -- TTS ------------------------------------------------------------------------------------
    async def _synthesize(self, job: fx.Synthesize) -> None:
        session = self.session
        if job.response_id in self._cancelled:
            return
        tts = self.engines.tts
        if tts is None:
            session.on_speech_end(job.response_id, job.item_id, job.seq)  # transcript only
            return
        try:
            pcm, rate = await tts.synthesize(job.text, job.voice, job.speed, job.language or self.engines.language)
        except Exception as exc:
            self.log.warning("speech synthesis failed: %s", exc)
            session.on_speech_error(job.response_id, job.item_id, job.seq, f"speech synthesis failed: {exc}")
            return
        if job.response_id in self._cancelled:
            return
        audio = encode_from_pcm16(resample(pcm, rate, job.format.rate), job.format.type)
        step = job.format.bytes_for_ms(CHUNK_MS)
        for start in range(0, len(audio), step):
            session.on_speech_audio(job.response_id, job.item_id, audio[start:start + step])
        session.on_speech_end(job.response_id, job.item_id, job.seq)

    # -- STT ------------------------------------------------------------------------------------
    async def _transcribe(self, job: fx.Transcribe) -> None:
        session = self.session
        if not session.transcript_wanted(job.item_id, job.attempt):
            return  # speech resumed after the pause this early attempt was for
        stt = self.engines.stt
        if stt is None:
            session.on_transcript_error(job.item_id, "no speech-to-text engine is configured", job.attempt)
            return
        pcm = decode_to_pcm16(job.audio, job.format.type)
        pcm = pcm[:len(pcm) // 2 * 2]  # half a sample at the end (an odd-length append) cannot be read
        rate = job.format.rate
        lang = job.language or self.engines.language
        pieces = split_long_audio(pcm, rate)
        texts: list[str] = []
        try:
            for piece in pieces:
                text = (await stt.transcribe(piece, rate, lang)).strip()
                if text and len(pieces) > 1 and job.attempt == 0:  # long audio: each piece as it is ready
                    session.on_transcript_delta(job.item_id, (" " if texts else "") + text)
                    self.flush()
                texts.append(text)
        except Exception as exc:
            self.log.warning("transcription failed: %s", exc)
            session.on_transcript_error(job.item_id, f"transcription failed: {exc}", job.attempt)
            return
        session.on_transcript(job.item_id, " ".join(t for t in texts if t), len(pcm) / 2 / rate, job.attempt)

    # -- VAD ------------------------------------------------------------------------------------
    async def _detect(self, job: fx.DetectSpeech) -> None:
        if self.engines.new_vad is None:
            return
        if self._vad is None:
            self._vad = self.engines.new_vad()
        if self._vad_resampler is None or self._vad_resampler.from_rate != job.format.rate:
            self._vad_resampler = StreamResampler(job.format.rate, VAD_RATE)
        pcm = self._vad_resampler.process(decode_to_pcm16(job.audio, job.format.type))
        probabilities = await self._vad.probabilities(pcm)
        if probabilities:
            self.session.on_speech_frames(self._vad_frames * VAD_FRAME_MS, VAD_FRAME_MS, probabilities)
            self._vad_frames += len(probabilities)

    async def _reset_vad(self, job: fx.ResetSpeechDetector) -> None:
        if self._vad is not None:
            self._vad.reset()


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
