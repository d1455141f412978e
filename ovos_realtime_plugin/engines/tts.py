"""An OPM TTS plugin behind the server's ``Synthesizer`` interface."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import threading
import wave
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ovos_realtime_plugin import patches
from ovos_realtime_plugin.engines.choice import TTS_DEFAULT, EngineChoice, EngineTimeouts, cpu_threads, engine_workers
from ovos_realtime_plugin.engines.espeak_phonemes import PROGRAMS, EspeakPrograms
from ovos_realtime_plugin.engines.loader import construct, plugin_class
from ovos_realtime_plugin.engines.piper_stream import chunk_piper, is_lean, pieces_to
from ovos_realtime_plugin.engines.worker import Cores, EngineThread, EngineTimeout

log = logging.getLogger(__name__)


class PluginSynthesizer:
    """Speaks through ``TTS.get_tts`` into a scratch WAV file, read back as PCM16 (a cut piper voice also hands its
    pieces over as it makes them: :meth:`stream`). One sentence at a time, except for piper voices made lean
    (:func:`chunk_piper`): onnxruntime runs several sentences on one session at once, so those speak up to
    :func:`~.choice.engine_workers` sentences together; the plugin's speed setting, which piper reads from the
    plugin, is then held by one speed at a time (:class:`SpeedGate`)."""

    def __init__(self, plugin: Any, module: str, thread: EngineThread, voices: dict[str, str]) -> None:
        self.plugin = plugin
        self.module = module
        self.voices = voices
        self._thread = thread
        self._dir = tempfile.TemporaryDirectory(prefix="ovos-realtime-tts-")
        self._length_scale = getattr(plugin, "length_scale", None)
        self.timeout_s = EngineTimeouts.tts_s
        self._programs: EspeakPrograms | None = None  # the espeak-ng programs this engine's phonemes come from
        self._speed = SpeedGate()

    @classmethod
    def load(cls, choice: EngineChoice, language: str, voices: dict[str, str],
             cores: Cores | None = None) -> PluginSynthesizer:
        """Import and construct the plugin on its own thread; a lean piper voice gets
        :func:`~.choice.engine_workers`, on ``cores`` shared with the other engines if given."""
        thread = EngineThread("tts", heavy=True)
        plugin_cls = plugin_class("tts", choice.module)
        config = {"lang": language, **choice.config}
        plugin = thread.call(construct, "tts", choice.module, lambda: plugin_cls(config=config))
        cut = thread.call(chunk_piper, plugin, min(2, cpu_threads()))  # the cores this process may use
        if cut:
            log.debug("%d piper voice(s) speak in pieces", cut)
        if (workers := engine_workers()) > 1 and lean_piper(plugin):
            thread = thread.with_workers(workers, cores)
        synthesizer = cls(plugin, choice.module, thread, voices)
        if choice.module == TTS_DEFAULT:  # piper's phonemes from one long-lived espeak-ng (docs/PERFORMANCE.md)
            synthesizer._programs = PROGRAMS if patches.apply_late(patches.PIPER_ESPEAK) else None
        return synthesizer

    async def synthesize(self, text: str, voice: str | None, speed: float, lang: str) -> tuple[bytes, int]:
        return await self._thread.run(self._synthesize, text, voice, speed, lang, timeout=self.timeout_s)

    async def stream(self, text: str, voice: str | None, speed: float, lang: str,
                     on_audio: Callable[[bytes, int], bool]) -> None:
        """Speak ``text``, handing its audio to ``on_audio(pcm16, rate)`` on the loop piece by piece as it is made
        (one piece from a plugin that makes sentences whole); ``on_audio`` returning ``False`` stops the sentence.
        Fails as :meth:`synthesize` does, and with whatever ``on_audio`` raises."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[bytes, int]] = asyncio.Queue()
        stop = threading.Event()

        def sink(pcm: bytes, rate: int) -> bool:
            loop.call_soon_threadsafe(queue.put_nowait, (pcm, rate))
            return not stop.is_set()

        def speak() -> tuple[bytes, int] | None:
            with pieces_to(sink) as sent:
                whole = self._synthesize(text, voice, speed, lang)
            return None if sent.count else whole

        def hand(pcm: bytes, rate: int) -> None:
            if not stop.is_set() and not on_audio(pcm, rate):
                stop.set()

        job = asyncio.ensure_future(self._thread.run(speak, timeout=self.timeout_s))
        job.add_done_callback(lambda done: done.cancelled() or done.exception())  # seen even if we stop early
        piece: asyncio.Future[tuple[bytes, int]] | None = None
        try:
            while not job.done():
                piece = asyncio.ensure_future(queue.get())
                await asyncio.wait({piece, job}, return_when=asyncio.FIRST_COMPLETED)
                if piece.done():
                    hand(*piece.result())
                else:
                    piece.cancel()  # a piece not taken stays queued
            while not queue.empty():  # the thread queued its last pieces before it returned
                hand(*queue.get_nowait())
            whole = job.result()
            if whole is not None:
                hand(*whole)
        except BaseException:
            stop.set()  # the engine thread makes no more of it
            raise
        finally:
            if piece is not None:
                piece.cancel()  # cancelled mid-sentence: nothing is left waiting on the queue

    def _synthesize(self, text: str, voice: str | None, speed: float, lang: str) -> tuple[bytes, int]:
        plugin_voice = self.voices.get(voice or "")  # Realtime voice names mean nothing to a plugin unless mapped
        handle, wav = tempfile.mkstemp(suffix=".wav", dir=self._dir.name)  # one per call: a call left behind by
        os.close(handle)  # a timeout may still write its own
        try:
            with self._speed.held(speed, timeout=self.timeout_s):
                self._set_speed(speed)
                self.plugin.get_tts(text, wav, lang=lang, voice=plugin_voice)
            return read_wav(wav)
        finally:
            os.remove(wav)

    def _set_speed(self, speed: float) -> None:
        """Plugins with a phoneme length scale (piper, VITS-like) speak faster with a smaller one."""
        if not hasattr(self.plugin, "length_scale"):
            return
        base = self._length_scale or 1.0
        self.plugin.length_scale = self._length_scale if speed == 1.0 else base / speed

    def bound_queue(self, max_wait_s: float | None) -> None:
        """A call that waits longer than ``max_wait_s`` past its deadline for the engine fails unrun (``None``:
        it waits its turn however long)."""
        self._thread.max_wait_s = max_wait_s

    def warm(self, language: str) -> None:
        self._thread.call(self._synthesize, "Ready.", None, 1.0, language)

    def close(self) -> None:
        self._thread.close()
        self._dir.cleanup()
        if self._programs is not None:
            self._programs.close()  # stopped and reaped with the engine


def lean_piper(plugin: Any) -> bool:
    """Whether every voice ``plugin`` has loaded is a piper voice on lean onnxruntime sessions (:func:`chunk_piper`),
    which may run several sentences at once."""
    voices = getattr(type(plugin), "engines", None)
    return isinstance(voices, dict) and bool(voices) and all(is_lean(voice) for voice in voices.values())


class SpeedGate:
    """Calls at one speed run together; a call at another speed waits until they are done (the plugin's speed
    is one setting for every call)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._speed: float | None = None
        self._holders = 0

    @contextlib.contextmanager
    def held(self, speed: float, timeout: float) -> Iterator[None]:
        with self._changed:
            if not self._changed.wait_for(lambda: self._holders == 0 or self._speed == speed, timeout):
                raise EngineTimeout(f"the TTS engine was busy at another speed for {timeout:g} s")
            self._speed = speed
            self._holders += 1
        try:
            yield
        finally:
            with self._changed:
                self._holders -= 1
                self._changed.notify_all()


def read_wav(path: str) -> tuple[bytes, int]:
    """Mono PCM16 and its rate, whatever sample width and channel count the plugin wrote."""
    with wave.open(path, "rb") as wav:
        rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
        frames = wav.readframes(wav.getnframes())
    if width == 2 and channels == 1:
        return frames, rate
    if width == 2:
        samples = np.frombuffer(frames, "<i2").reshape(-1, channels).mean(axis=1)
    elif width == 4:
        samples = np.frombuffer(frames, "<i4").reshape(-1, channels).mean(axis=1) / 65536
    elif width == 1:
        samples = (np.frombuffer(frames, np.uint8).astype(np.int16).reshape(-1, channels).mean(axis=1) - 128) * 256
    else:
        raise ValueError(f"unsupported WAV sample width {width}")
    return np.clip(samples, -32768, 32767).astype("<i2").tobytes(), rate
