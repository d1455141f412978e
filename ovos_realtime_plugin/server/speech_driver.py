"""Carries out the core's speech effects (VAD, STT, TTS) for one connection, in order, off the loop.

Each kind of work has one queue per connection so results come back in the order the core asked;
the engines themselves run their models in their own worker threads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ovos_realtime_plugin.audio.codec import decode_to_pcm16, whole_samples
from ovos_realtime_plugin.audio.resample import QUICK, StreamResampler
from ovos_realtime_plugin.core import effects as fx
from ovos_realtime_plugin.core.session import SessionCore
from ovos_realtime_plugin.core.stt import SttRequest, SttResult
from ovos_realtime_plugin.engines.worker import Urgency, urgent
from ovos_realtime_plugin.server.failures import CoreBug, describe, report_failure
from ovos_realtime_plugin.server.sentence_audio import SentenceAudio
from ovos_realtime_plugin.server.speech_engines import SharedSentences, SpeechDetector, SpeechEngines, Transcriber
from ovos_realtime_plugin.server.speech_lanes import Lane, split_long_audio
from ovos_realtime_plugin.server.voice_trace import VoiceTrace

VAD_RATE = 16000
VAD_FRAME_MS = 32


@dataclass(frozen=True)
class ForgetCancelled:
    """A job of this driver's TTS lane, queued when a response is cancelled: every sentence of that response was
    queued before it, so once it runs the response's id need not be remembered."""

    response_id: str


class SpeechDriver:
    def __init__(self, session: SessionCore, engines: SpeechEngines | None, flush: Callable[[], None],
                 log: logging.LoggerAdapter[logging.Logger]) -> None:
        self.session = session
        self.engines = engines or SpeechEngines()
        self.flush = flush
        self.log = log
        self._cancelled: set[str] = set()
        self._queues: dict[str, Lane] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._closed = False
        self._vad: SpeechDetector | None = None
        self._vad_resampler: StreamResampler | None = None
        self._vad_start_ms: int | None = None  # stream time (the core's clock) where the VAD's frames start
        self._vad_frames = 0
        self._prepared: dict[str, tuple[bytes, int] | None] = {}  # by the core's key; None: queued or running
        self._ahead: set[asyncio.Task[None]] = set()  # sentences being made ahead by a store that makes them once
        self.trace = VoiceTrace(session.id)

    def close(self) -> None:
        self._closed = True  # late work (an early answer's speech during shutdown) is not started
        self._prepared.clear()
        for ahead in self._ahead:
            ahead.cancel()  # no longer listened to here (a response of another session may still be)
        for worker in self._workers:
            worker.cancel()

    def cancel(self, response_id: str) -> None:
        if "tts" not in self._queues:
            return  # nothing was ever to be spoken, so nothing of this response is queued
        self._cancelled.add(response_id)
        self._submit("tts", ForgetCancelled(response_id), self._forget_cancelled)

    def execute(self, effect: fx.Effect) -> None:
        if isinstance(effect, fx.Synthesize):
            self._submit("tts", effect, self._synthesize)
        elif isinstance(effect, fx.PrepareSpeech):
            self._prepare_speech(effect)
        elif isinstance(effect, fx.DropPreparedSpeech):
            for key in effect.keys:
                self._prepared.pop(key, None)  # a job still queued for it then does nothing
        elif isinstance(effect, fx.Transcribe):
            if effect.attempt:
                self.trace.mark("pause", f"attempt {effect.attempt}")
            self._submit("stt", effect, self._transcribe)
        elif isinstance(effect, fx.DetectSpeech):
            self._submit("vad", effect, self._detect)
        elif isinstance(effect, fx.ResetSpeechDetector):
            self._submit("vad", effect, self._reset_vad)

    def _submit(self, lane: str, effect: Any, run: Callable[[Any], Awaitable[None]]) -> None:
        if self._closed:
            return
        queue = self._queues.get(lane)
        if queue is None:
            queue = self._queues[lane] = Lane()
            self._workers.append(asyncio.create_task(self._drain(queue)))
        queue.put(run, effect)

    async def _drain(self, queue: Lane) -> None:
        # Not ``while True``: a job can swallow the cancellation of close() (asyncio.wait_for on Python 3.11
        # returns the engine's result when the call ends just as its caller is cancelled), and then this lane
        # would run the closed session's queued work and wait for more until it is garbage-collected.
        while not self._closed:
            run, effect = await queue.get()
            try:
                await run(effect)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # our own bug (engine failures are caught at the call): fail that work
                self.log.exception("speech work failed: %s", type(effect).__name__)
                self._report(effect, exc)
            self.flush()

    def _report(self, effect: fx.Effect, exc: Exception) -> None:
        """Fail the work in the core; a bug there too is logged, and this lane goes on with the next job."""
        try:
            report_failure(self.session, effect, exc)
        except Exception:
            self.log.exception("reporting a failed %s failed", type(effect).__name__)

    # -- TTS ------------------------------------------------------------------------------------
    def _prepare_speech(self, effect: fx.PrepareSpeech) -> None:
        """Synthesize the sentences the core names ahead, kept by their keys for the ``Synthesize`` that will
        carry one (:mod:`~ovos_realtime_plugin.core.prepared_speech`)."""
        if self.engines.tts is None or self._closed:
            return
        for sentence in effect.sentences:
            self._prepared[sentence.key] = None
        self._submit("tts", effect, self._prepare)

    def _language(self, language: str | None) -> str:
        return language or self.engines.language

    async def _prepare(self, effect: fx.PrepareSpeech) -> None:
        tts = self.engines.tts
        for sentence in effect.sentences:
            if sentence.key not in self._prepared or self._prepared[sentence.key] is not None or tts is None:
                continue  # dropped meanwhile (another pause, or a response to something else), or already there
            self.trace.mark("tts_prepare", sentence.text[:24])
            if isinstance(tts, SharedSentences):  # made once: the response joins the making piece by piece
                self._prepared.pop(sentence.key, None)
                self._make_ahead(tts, sentence.text, effect.voice, effect.speed, self._language(effect.language))
                continue
            try:
                with urgent(Urgency.SOON):  # nobody waits for it yet
                    made = await tts.synthesize(sentence.text, effect.voice, effect.speed,
                                                self._language(effect.language))
            except Exception as exc:  # the response synthesizes the sentence itself and reports its own failure
                self.log.warning("preparing speech failed (the response will try again): %s", describe(exc))
                self._prepared.pop(sentence.key, None)
                continue
            if sentence.key in self._prepared:  # not dropped while it was being made
                self._prepared[sentence.key] = made

    def _make_ahead(self, tts: SharedSentences, text: str, voice: str | None, speed: float, language: str) -> None:
        """Have ``tts`` make a sentence now, off this connection's TTS lane: the response that speaks it asks the
        store for it and hears it from wherever it has got to, instead of waiting for the whole of it behind this
        job (as a sentence kept here would make it)."""
        async def make() -> None:
            with urgent(Urgency.SOON):  # nobody waits for it yet
                await tts.stream(text, voice, speed, language, lambda pcm, rate: True)

        def done(task: asyncio.Task[None]) -> None:
            self._ahead.discard(task)
            if not task.cancelled() and (exc := task.exception()) is not None:  # the response will try again
                self.log.warning("preparing speech failed (the response will try again): %s", describe(exc))

        task = asyncio.ensure_future(make())
        self._ahead.add(task)
        task.add_done_callback(done)

    async def _forget_cancelled(self, job: ForgetCancelled) -> None:
        self._cancelled.discard(job.response_id)

    async def _synthesize(self, job: fx.Synthesize) -> None:
        session = self.session
        prepared = self._prepared.pop(job.prepared, None) if job.prepared is not None else None  # spent either way
        if job.response_id in self._cancelled:
            return
        tts = self.engines.tts
        if tts is None:
            session.on_speech_end(job.response_id, job.item_id, job.seq)  # transcript only
            return
        self.trace.mark("tts_start", str(job.seq))
        audio = SentenceAudio(session, job, self.flush, lambda: job.response_id in self._cancelled)
        try:
            with urgent(Urgency.NOW if job.seq == 1 else Urgency.LATER):  # a response's first sentence, or later
                if prepared is not None:
                    audio.send(*prepared)
                else:  # heard as it is made
                    await tts.stream(job.text, job.voice, job.speed, self._language(job.language), audio.send)
            audio.finish()
        except CoreBug:
            raise  # ours: logged with its traceback by the lane, and the sentence fails
        except Exception as exc:
            self.log.warning("speech synthesis failed: %s", describe(exc))
            report_failure(session, job, exc)
            return
        self.trace.mark("tts_end", str(job.seq))
        if job.response_id not in self._cancelled:
            session.on_speech_end(job.response_id, job.item_id, job.seq)

    # -- STT ------------------------------------------------------------------------------------
    async def _transcribe(self, job: fx.Transcribe) -> None:
        session = self.session
        if not session.transcript_wanted(job.item_id, job.attempt):
            self.trace.mark("stt_dropped", f"attempt {job.attempt}")
            return  # speech resumed after the pause this early attempt was for
        stt = self.engines.transcriber(job.model)
        if stt is None:
            session.on_transcript_error(job.item_id, "no speech-to-text engine is configured", job.attempt)
            return
        rate = job.format.rate
        pcm = whole_samples(decode_to_pcm16(job.audio, job.format.type))
        pieces = split_long_audio(pcm, rate)
        self.trace.mark("stt_start", f"attempt {job.attempt}")
        try:
            with urgent(Urgency.SOON if job.attempt else Urgency.NOW):  # a pause's guess, or a committed turn
                heard = await self._transcribe_pieces(job, stt, pieces)
        except Exception as exc:
            self.log.warning("transcription failed: %s", describe(exc))
            report_failure(session, job, exc)
            return
        finally:
            self.trace.mark("stt_end", f"attempt {job.attempt}")
        scored = [result.logprobs for result in heard]
        logprobs = None if None in scored else tuple(token for tokens in scored for token in tokens or ())
        session.on_transcript(job.item_id, " ".join(r.text for r in heard if r.text), len(pcm) / 2 / rate,
                              job.attempt, logprobs)

    async def _transcribe_pieces(self, job: fx.Transcribe, stt: Transcriber,
                                 pieces: list[bytes]) -> list[SttResult]:
        """Each piece's words; long audio's pieces are sent as deltas as they are ready."""
        request = SttRequest(job.language or self.engines.language, job.prompt, job.keywords, job.logprobs)
        heard: list[SttResult] = []
        for piece in pieces:
            result = await stt.hear(piece, job.format.rate, request)
            text = result.text.strip()
            if text and len(pieces) > 1 and job.attempt == 0:
                self.session.on_transcript_delta(job.item_id, (" " if heard else "") + text, result.logprobs)
                self.flush()
            heard.append(SttResult(text, result.logprobs))
        return heard

    # -- VAD ------------------------------------------------------------------------------------
    async def _detect(self, job: fx.DetectSpeech) -> None:
        if self.engines.new_vad is None:
            return
        if self._vad is None:
            self._vad = self.engines.new_vad()
        if self._vad_resampler is None or self._vad_resampler.from_rate != job.format.rate:
            self._vad_resampler = StreamResampler(job.format.rate, VAD_RATE, QUICK)
        if self._vad_start_ms is None:
            self._vad_start_ms = job.offset_ms
        pcm = self._vad_resampler.process(decode_to_pcm16(job.audio, job.format.type))
        try:
            probabilities = await self._vad.probabilities(pcm)
        except Exception as exc:
            self.log.warning("speech detection failed: %s", describe(exc))
            report_failure(self.session, job, exc)
            return
        if probabilities:
            start_ms = self._vad_start_ms + self._vad_frames * VAD_FRAME_MS
            self._vad_frames += len(probabilities)
            self.session.on_speech_frames(start_ms, VAD_FRAME_MS, probabilities)

    async def _reset_vad(self, job: fx.ResetSpeechDetector) -> None:
        """The buffer was cleared: frames restart at the next audio's ``offset_ms``, nothing partial is kept."""
        self._vad_start_ms, self._vad_frames, self._vad_resampler = None, 0, None
        if self._vad is not None:
            self._vad.reset()
