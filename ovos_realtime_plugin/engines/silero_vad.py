"""Silero VAD v6 as an OPM VAD plugin: ``ovos-vad-plugin-silero-v6``.

The model is the ONNX export faster-whisper ships (``faster_whisper/assets/silero_vad_v6.onnx``, MIT, on PyPI:
nothing is downloaded; read from the package's folder without importing it). It takes any number of 32 ms
frames in one call — each 512 samples at 16 kHz with the 64 before it as context — and carries its recurrent
state through them in order, so a chunk of audio costs one call: ~0.2 ms for one frame, ~0.1 ms a frame for
ten, against ~0.7 ms a frame for the v4 model of ``ovos-vad-plugin-silero`` (measured here, one thread).
Every detector shares one lean session (:mod:`.lean_onnx`); the state is per detector.

Config: ``model`` (another Silero v6 ONNX file), ``threshold`` (0.5, for OPM's ``is_silence``).
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import numpy as np
from ovos_plugin_manager.templates.vad import VADEngine  # type: ignore[import-untyped]

from ovos_realtime_plugin.engines.lean_onnx import shared_session

FRAME = 512  # samples at 16 kHz: 32 ms
CONTEXT = 64  # samples of the previous frame each frame is given
STATE = (1, 1, 128)
SCALE = np.float32(1 / 32768)


def model_path() -> str:
    spec = importlib.util.find_spec("faster_whisper")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("faster-whisper is not installed: pip install faster-whisper (ships Silero VAD v6)")
    return os.path.join(list(spec.submodule_search_locations)[0], "assets", "silero_vad_v6.onnx")


class SileroV6:
    """One stream's detector: speech probabilities of consecutive 32 ms frames, state carried across calls."""

    def __init__(self, path: str | None = None) -> None:
        self.session = shared_session(path or model_path())
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros(STATE, np.float32)
        self._c = np.zeros(STATE, np.float32)
        self._context = np.zeros(CONTEXT, np.float32)

    def probabilities(self, pcm16: bytes) -> list[float]:
        """One probability per whole frame of ``pcm16`` (16 kHz mono); a partial frame at the end is ignored."""
        count = len(pcm16) // (FRAME * 2)
        if not count:
            return []
        samples = np.frombuffer(pcm16, "<i2", count * FRAME).reshape(count, FRAME)
        rows = np.empty((count, CONTEXT + FRAME), np.float32)  # each frame with the 64 samples before it
        frames = rows[:, CONTEXT:]
        np.multiply(samples, SCALE, out=frames, casting="unsafe")
        rows[0, :CONTEXT] = self._context
        rows[1:, :CONTEXT] = frames[:-1, -CONTEXT:]
        speech, self._h, self._c = self.session.run(None, {"input": rows, "h": self._h, "c": self._c})
        self._context = frames[-1, -CONTEXT:].copy()
        return np.asarray(speech, np.float64).ravel().tolist()  # type: ignore[no-any-return]


class SileroV6VAD(VADEngine):  # type: ignore[misc]
    """OPM VAD plugin (see the module's documentation)."""

    def __init__(self, config: dict[str, Any] | None = None, sample_rate: int | None = None) -> None:
        super().__init__(config, sample_rate)
        self.threshold = float(self.config.get("threshold", 0.5))
        self.detector = SileroV6(self.config.get("model"))

    def reset(self) -> None:
        self.detector.reset()

    def probabilities(self, pcm16: bytes) -> list[float]:
        return self.detector.probabilities(pcm16)

    def is_silence(self, chunk: bytes) -> bool:
        probabilities = self.detector.probabilities(chunk)
        return not probabilities or max(probabilities) < self.threshold
