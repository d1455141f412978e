"""An OPM STT plugin behind the server's ``Transcriber`` interface."""

from __future__ import annotations

import logging
from typing import Any

from ovos_realtime_plugin.audio.resample import resample
from ovos_realtime_plugin.engines.choice import EngineChoice, EngineTimeouts
from ovos_realtime_plugin.engines.loader import construct, plugin_class
from ovos_realtime_plugin.engines.worker import EngineThread

log = logging.getLogger(__name__)
STT_RATE = 16000  # what OPM STT plugins expect (and some assume without checking)


class TranscriptionError(RuntimeError):
    """The STT plugin gave no result (``None``, not ``""``: that is silence)."""


class PluginTranscriber:
    def __init__(self, plugin: Any, module: str, thread: EngineThread) -> None:
        self.plugin = plugin
        self.module = module
        self._thread = thread
        self.timeout_s = EngineTimeouts.stt_s

    @classmethod
    def load(cls, choice: EngineChoice, language: str) -> PluginTranscriber:
        """Import and construct the plugin on its own thread (where its model will run)."""
        thread = EngineThread("stt", heavy=True)
        plugin_cls = plugin_class("stt", choice.module)
        config = {"lang": language, **choice.config}
        plugin = thread.call(construct, "stt", choice.module, lambda: plugin_cls(config=config))
        return cls(plugin, choice.module, thread)

    async def transcribe(self, pcm16: bytes, rate: int, lang: str) -> str:
        return await self._thread.run(self._transcribe, pcm16, rate, lang, timeout=self.timeout_s)

    def _transcribe(self, pcm16: bytes, rate: int, lang: str) -> str:
        from ovos_plugin_manager.utils.audio import AudioData  # type: ignore[import-untyped]

        audio = AudioData(resample(pcm16, rate, STT_RATE), STT_RATE, 2)
        text = self.plugin.execute(audio, language=lang)
        if text is None:  # a plugin that swallowed its failure, e.g. ovos-stt-plugin-server with every server down
            raise TranscriptionError(f"{self.module} returned no transcript (its server unreachable or failing?)")
        return str(text)

    def warm(self, language: str) -> None:
        """One transcription of a second of quiet noise, so the first user turn does not pay for it."""
        self._thread.call(self._transcribe, _quiet(STT_RATE), STT_RATE, language)

    def close(self) -> None:
        self._thread.close()


def _quiet(rate: int) -> bytes:
    import numpy as np

    rng = np.random.default_rng(0)
    return (rng.normal(0, 30, rate)).astype("<i2").tobytes()
