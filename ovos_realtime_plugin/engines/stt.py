"""An OPM STT plugin behind the server's ``Transcriber`` interface.

Any OPM STT plugin hears audio in a language (``execute(audio, language)``, text out). A plugin that can do more
says so by implementing :class:`HintedSTT`: it then also gets the session's prompt and keywords and, when asked,
gives each token's log-probability; by implementing :class:`BatchedSTT`, it hears the utterances of several
sessions waiting at once in one call (:mod:`.stt_batch`). Ours that does both: ``ovos-stt-plugin-whisper-fitted``.
A plugin is called once at a time unless it says it takes more (:func:`concurrent_calls`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from ovos_realtime_plugin.audio.resample import resample
from ovos_realtime_plugin.core.stt import SttRequest, SttResult
from ovos_realtime_plugin.engines.choice import EngineChoice, EngineTimeouts
from ovos_realtime_plugin.engines.loader import construct, plugin_class
from ovos_realtime_plugin.engines.stt_batch import TranscriptionQueue
from ovos_realtime_plugin.engines.worker import Cores, EngineThread
from ovos_realtime_plugin.server import metrics

log = logging.getLogger(__name__)
STT_RATE = 16000  # what OPM STT plugins expect (and some assume without checking)


class TranscriptionError(RuntimeError):
    """The STT plugin gave no result (``None``, not ``""``: that is silence)."""


@runtime_checkable
class HintedSTT(Protocol):
    """An STT plugin that takes hints (``request.prompt``, ``request.keywords``) and has token scores: with
    ``request.logprobs`` its result carries them."""

    def execute_hinted(self, audio: Any, request: SttRequest) -> SttResult: ...


@runtime_checkable
class BatchedSTT(HintedSTT, Protocol):
    """A :class:`HintedSTT` that hears several utterances in one call, faster than one after the other: what
    :meth:`HintedSTT.execute_hinted` gives for each, or what it raised (one failing fails alone)."""

    def execute_batch(self, batch: Sequence[tuple[Any, SttRequest]]) -> list[SttResult | Exception]: ...


class PluginTranscriber:
    def __init__(self, plugin: Any, module: str, thread: EngineThread) -> None:
        self.plugin = plugin
        self.module = module
        self._thread = thread
        self._hinted: HintedSTT | None = plugin if isinstance(plugin, HintedSTT) else None
        self._queue = (TranscriptionQueue(thread, functools.partial(_hear_together, plugin))
                       if isinstance(plugin, BatchedSTT) else None)
        self.timeout_s = EngineTimeouts.stt_s

    @classmethod
    def load(cls, choice: EngineChoice, language: str, cores: Cores | None = None) -> PluginTranscriber:
        """Import and construct the plugin on its own thread (where its model will run); a plugin that takes
        several calls at once gets as many workers, on ``cores`` shared with the other engines if given."""
        thread = EngineThread("stt", heavy=True)
        plugin_cls = plugin_class("stt", choice.module)
        config = {"lang": language, **choice.config}
        plugin = thread.call(construct, "stt", choice.module, lambda: plugin_cls(config=config))
        if (calls := concurrent_calls(plugin)) > 1:
            thread = thread.with_workers(calls, cores)
        return cls(plugin, choice.module, thread)

    @property
    def hinted(self) -> bool:
        """Whether the plugin takes prompts and keywords and has token scores (:class:`HintedSTT`)."""
        return self._hinted is not None

    async def hear(self, pcm16: bytes, rate: int, request: SttRequest) -> SttResult:
        metrics.transcription(self.module)
        if self._queue is not None:  # heard together with the others waiting then
            return await self._queue.hear((pcm16, rate, request), self.timeout_s)
        return await self._thread.run(self._hear, pcm16, rate, request, timeout=self.timeout_s)

    async def transcribe(self, pcm16: bytes, rate: int, lang: str) -> str:
        """The words alone, in ``lang``."""
        return (await self.hear(pcm16, rate, SttRequest(lang))).text

    def _hear(self, pcm16: bytes, rate: int, request: SttRequest) -> SttResult:
        from ovos_plugin_manager.utils.audio import AudioData  # type: ignore[import-untyped]

        audio = AudioData(resample(pcm16, rate, STT_RATE), STT_RATE, 2)
        if self._hinted is not None:
            return self._hinted.execute_hinted(audio, request)
        text = self.plugin.execute(audio, language=request.language)
        if text is None:  # a plugin that swallowed its failure, e.g. ovos-stt-plugin-server with every server down
            raise TranscriptionError(f"{self.module} returned no transcript (its server unreachable or failing?)")
        return SttResult(str(text))

    def bound_queue(self, max_wait_s: float | None) -> None:
        """A call that waits longer than ``max_wait_s`` past its deadline for the engine fails unrun (``None``:
        it waits its turn however long)."""
        self._thread.max_wait_s = max_wait_s

    def warm(self, language: str) -> None:
        """One transcription of a second of quiet noise, so the first user turn does not pay for it."""
        self._thread.call(self._hear, _quiet(STT_RATE), STT_RATE, SttRequest(language))

    def close(self) -> None:
        self._thread.close()


def concurrent_calls(plugin: Any) -> int:
    """How many calls ``plugin`` takes at once, from as many threads: its ``concurrent_calls`` if it has one (a
    plugin built for it, e.g. ours), else one (OPM plugins are mostly not re-entrant)."""
    calls = getattr(plugin, "concurrent_calls", 1)
    return calls if isinstance(calls, int) and calls > 1 else 1


def _hear_together(plugin: BatchedSTT, batch: Sequence[tuple[bytes, int, SttRequest]]) -> list[SttResult | Exception]:
    from ovos_plugin_manager.utils.audio import AudioData

    return plugin.execute_batch([(AudioData(resample(pcm16, rate, STT_RATE), STT_RATE, 2), request)
                                 for pcm16, rate, request in batch])


def _quiet(rate: int) -> bytes:
    import numpy as np

    rng = np.random.default_rng(0)
    return (rng.normal(0, 30, rate)).astype("<i2").tobytes()
