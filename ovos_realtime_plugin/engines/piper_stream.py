"""Piper's sentences made, and heard, in pieces.

A piper voice cut in two (:mod:`.piper_split`) makes a sentence's latent at once (its encoder, duration
predictor and flow: ~40 % of the time) and then its audio piece by piece: the vocoder run on a piece of the latent
with :data:`CONTEXT_FRAMES` of its neighbours on each side gives exactly that piece's audio (12 frames already
match the whole run to 1e-6). The first piece is short (:data:`FIRST_FRAMES`, ~0.19 s of speech), so it is heard
after the encoder and a fraction of the vocoder; the rest follow in pieces twice as long each time, up to
:data:`MAX_FRAMES`, each ready long before the one before it has been played.

Loudness: piper scales every sentence so that its own peak is full scale, which needs the whole sentence. A voice
heard in pieces uses one gain instead: :attr:`ChunkedVoice.level` is heard at :data:`KNEE` of full scale; it
starts at :data:`LEVEL_FLOOR` (piper joe's sentences peak at 0.30-0.67) and rises to the loudest sentence heard.
The part of a louder sentence above the knee is bent softly towards full scale (:func:`soft_limit`), never clipped.

Pieces go to the sink set with :func:`pieces_to` on the calling thread (a TTS engine worker's); a sink that
returns ``False`` stops the sentence (its response was cancelled: no more of the vocoder's time is spent on it).
With no sink (a sentence prepared ahead, the warm-up) the vocoder runs once on the whole latent: pieces would only
add their context's cost.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ovos_realtime_plugin.engines.lean_onnx import lean_session
from ovos_realtime_plugin.engines.piper_split import discard, split_voice

log = logging.getLogger(__name__)

FIRST_FRAMES = 16  # the first piece: 16 x 256 samples, ~0.19 s at 22,050 Hz
MAX_FRAMES = 256  # the later pieces double in length up to this (~3 s)
CONTEXT_FRAMES = 16  # latent frames either side of a piece that its audio depends on (12 measured exact)
LEVEL_FLOOR = 0.7  # the raw peak heard at KNEE of full scale, at least
KNEE = 0.9  # up to here the gain is linear; above it (a sentence louder than the level) it bends softly to 1.0
PieceSink = Callable[[bytes, int], bool]  # (PCM16, rate) -> go on?

_local = threading.local()


@dataclass
class Pieces:
    """Where this thread's pieces go, how many went, and whether the sink said stop."""

    sink: PieceSink
    count: int = 0
    stopped: bool = False


@contextlib.contextmanager
def pieces_to(sink: PieceSink) -> Iterator[Pieces]:
    """Hand the pieces of every sentence a cut voice speaks on this thread to ``sink``. After the block, a
    ``count`` of 0 says no voice was cut (the whole sentence is the only piece); once the sink says stop, the
    rest of the block's text is not made."""
    pieces = Pieces(sink)
    previous = getattr(_local, "pieces", None)
    _local.pieces = pieces
    try:
        yield pieces
    finally:
        _local.pieces = previous


def soft_limit(audio: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Samples beyond :data:`KNEE` bent towards 1.0 (never past it) instead of clipped."""
    over = np.abs(audio) > KNEE
    if not over.any():
        return audio
    bent = audio.copy()
    beyond = np.abs(bent[over]) - KNEE
    bent[over] = np.sign(bent[over]) * (KNEE + (1 - KNEE) * np.tanh(beyond / (1 - KNEE)))
    return bent


def frame_spans(frames: int) -> list[tuple[int, int]]:
    """The pieces of a latent of ``frames`` frames: the first short, each next one twice as long, up to
    :data:`MAX_FRAMES` (a piece takes ~1/15 of its length to make here, so it is ready long before the one
    before it has been heard)."""
    spans, start, size = [], 0, FIRST_FRAMES
    while start < frames:
        spans.append((start, min(frames, start + size)))
        start, size = spans[-1][1], min(MAX_FRAMES, size * 2)
    return spans


class ChunkedVoice:
    """A piper voice's two halves; :meth:`ids_to_raw` stands in for ``PiperVoice.synthesize_ids_to_raw``."""

    def __init__(self, encoder: Any, decoder: Any) -> None:
        self.encoder = encoder
        self.decoder = decoder
        self.latent = decoder.get_inputs()[0].name
        self.level = LEVEL_FLOOR

    def ids_to_raw(self, voice: Any, phoneme_ids: list[int], speaker_id: int | None = None,
                   length_scale: float | None = None, noise_scale: float | None = None,
                   noise_w: float | None = None) -> bytes:
        """PCM16 of one sentence's phoneme ids, handed piece by piece to this thread's sink as it is made."""
        pieces: Pieces | None = getattr(_local, "pieces", None)
        if pieces is not None and pieces.stopped:
            return b""
        config = voice.config
        scales = [config.noise_scale if noise_scale is None else noise_scale,
                  config.length_scale if length_scale is None else length_scale,
                  config.noise_w if noise_w is None else noise_w]
        ids = np.array([phoneme_ids], np.int64)
        latent = self.encoder.run(None, {"input": ids, "input_lengths": np.array([ids.shape[1]], np.int64),
                                         "scales": np.array(scales, np.float32)})[0]
        made, gain, peak = [], KNEE / self.level, 0.0
        frames = latent.shape[-1]
        for start, end in frame_spans(frames) if pieces is not None else [(0, frames)]:  # nobody listening: one run
            audio = self.vocode(latent, start, end)
            peak = max(peak, float(np.abs(audio).max(initial=0.0)))
            made.append((soft_limit(audio * gain) * 32767).astype("<i2").tobytes())
            if pieces is not None:
                pieces.count += 1
                if not pieces.sink(made[-1], config.sample_rate):
                    pieces.stopped = True
                    break
        self.level = max(self.level, peak)
        return b"".join(made)

    def vocode(self, latent: npt.NDArray[np.float32], start: int, end: int) -> npt.NDArray[np.float32]:
        """The audio of latent frames ``start:end``, run with their neighbours for context."""
        low, high = max(0, start - CONTEXT_FRAMES), min(latent.shape[-1], end + CONTEXT_FRAMES)
        audio = self.decoder.run(None, {self.latent: np.ascontiguousarray(latent[:, :, low:high])})[0].reshape(-1)
        hop = len(audio) // (high - low)
        return np.asarray(audio[(start - low) * hop:(end - low) * hop], np.float32)


def chunk_piper(plugin: Any, threads: int) -> int:
    """Give the voices piper has loaded (``PiperTTSPlugin.engines``) lean sessions, cut where they can be (then
    their sentences come in pieces). Returns how many were cut."""
    voices = getattr(type(plugin), "engines", None)
    if not isinstance(voices, dict):
        return 0
    cut = 0
    for voice in voices.values():
        if is_lean(voice):  # the class's voices are shared: another instance made it lean
            cut += "synthesize_ids_to_raw" in vars(voice)
            continue
        path = getattr(getattr(voice, "session", None), "_model_path", None)
        if not isinstance(path, str):
            continue
        chunked = _chunked(path, threads)
        if chunked is None:
            voice.session = lean_session(path, threads, arena=False)
            setattr(voice, LEAN, True)
            continue
        voice.session = chunked.encoder  # the whole graph's session is let go
        voice.synthesize_ids_to_raw = functools.partial(chunked.ids_to_raw, voice)
        setattr(voice, LEAN, True)
        cut += 1
    return cut


LEAN = "_ovos_realtime_lean"  # set on a piper voice whose sessions chunk_piper made


def is_lean(voice: Any) -> bool:
    """Whether :func:`chunk_piper` gave this piper voice its sessions (cut in two, or whole)."""
    return bool(vars(voice).get(LEAN))


def _chunked(path: str, threads: int) -> ChunkedVoice | None:
    """The voice at ``path`` in two halves, or ``None`` (not cut, or its halves would not load)."""
    halves = split_voice(path)
    if halves is None:
        return None
    try:
        return ChunkedVoice(*(lean_session(half, threads, arena=False) for half in halves))
    except Exception as exc:  # damaged halves (a cut interrupted by a power loss): cut again at the next start
        log.warning("the cut piper voice %s did not load (it speaks whole sentences): %s", path, exc)
        discard(halves)
        return None
