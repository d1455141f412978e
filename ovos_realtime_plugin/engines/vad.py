"""An OPM VAD plugin behind the server's ``SpeechDetector`` interface: one detector per connection.

The VAD model keeps state across frames, so each connection gets its own plugin instance; all of them run
on the one VAD thread. Plugins that give a speech probability (Silero: ``plugin.vad(samples)``) feed it to the
turn detector as is; others give 0 or 1 from ``is_silence``. A call that does not return within ``timeout_s``
fails that audio's detection (an ``error`` event); the detector then starts over with a fresh plugin instance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ovos_realtime_plugin.engines.choice import EngineChoice, EngineTimeouts
from ovos_realtime_plugin.engines.lean_onnx import share_onnx_session
from ovos_realtime_plugin.engines.loader import construct, plugin_class
from ovos_realtime_plugin.engines.worker import EngineThread, EngineTimeout

FRAME_SAMPLES = 512  # 32 ms at 16 kHz: what Silero expects and the server's VAD frame
FRAME_BYTES = FRAME_SAMPLES * 2


class PluginSpeechDetector:
    def __init__(self, build: Callable[[], Any], thread: EngineThread, timeout_s: float = EngineTimeouts.vad_s) -> None:
        self._build = build
        self._thread = thread
        self.timeout_s = timeout_s
        self._plugin: Any = None
        self._rest = b""
        self._reset = False

    async def probabilities(self, pcm16_16k: bytes) -> list[float]:
        data = self._rest + pcm16_16k
        usable = len(data) - len(data) % FRAME_BYTES
        self._rest = data[usable:]
        if not usable:
            return []
        reset, self._reset = self._reset, False
        try:
            return await self._thread.run(self._run, data[:usable], reset, timeout=self.timeout_s)
        except EngineTimeout:
            self._plugin = None  # the stuck call may still hold it: the next audio gets a fresh instance
            raise

    def reset(self) -> None:
        """Forget partial state (applied on the VAD thread before the next frames)."""
        self._rest = b""
        self._reset = True

    def _run(self, pcm: bytes, reset: bool) -> list[float]:
        plugin = self._plugin
        if plugin is None:
            plugin = self._plugin = self._build()
        elif reset and hasattr(plugin, "reset"):
            plugin.reset()
        batched = getattr(plugin, "probabilities", None)  # ours: the whole chunk in one model call
        if callable(batched):
            return [float(p) for p in batched(pcm)]
        return [frame_probability(plugin, pcm[i:i + FRAME_BYTES]) for i in range(0, len(pcm), FRAME_BYTES)]


def _lean(plugin: Any) -> Any:
    share_onnx_session(plugin)
    return plugin


def frame_probability(plugin: Any, frame: bytes) -> float:
    model = getattr(plugin, "vad", None)
    if callable(model):
        return float(np.asarray(model(np.frombuffer(frame, "<i2"))).reshape(-1)[0])
    return 0.0 if plugin.is_silence(frame) else 1.0


class PluginVad:
    """Makes a detector per connection from one loaded plugin class."""

    def __init__(self, choice: EngineChoice, thread: EngineThread) -> None:
        self.module = choice.module
        self._thread = thread
        self.timeout_s = EngineTimeouts.vad_s
        cls = plugin_class("vad", choice.module)
        config = dict(choice.config)
        self._build: Callable[[], Any] = lambda: _lean(construct("vad", choice.module, lambda: cls(config=config)))

    @classmethod
    def load(cls, choice: EngineChoice) -> PluginVad:
        vad = cls(choice, EngineThread("vad"))
        vad.warm()
        return vad

    def new_detector(self) -> PluginSpeechDetector:
        return PluginSpeechDetector(self._build, self._thread, self.timeout_s)

    def warm(self) -> None:
        """Build one instance now: a model that cannot load fails start-up, not the first connection."""
        plugin = self._thread.call(self._build)
        self._thread.call(frame_probability, plugin, bytes(FRAME_BYTES))

    def close(self) -> None:
        self._thread.close()
