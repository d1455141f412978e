"""Whisper's input: the log-mel spectrogram of 16 kHz audio, in numpy.

What Whisper was trained on, step by step: a 400-point STFT every 160 samples (10 ms) with a periodic Hann
window, the signal reflected at both ends (``center``), the last frame dropped; the power spectrum through
80 (or 128) mel filters on the Slaney scale with Slaney area normalisation from 0 to 8 kHz; ``log10`` of it
floored at 1e-10, then at 8 below its maximum, scaled to ``(x + 4) / 4``. Computed here so that the STT needs
only CTranslate2 (faster-whisper's own extractor comes with PyAV, ~16 MB more resident, unused here).
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

RATE = 16000
N_FFT = 400
HOP = 160

Floats = npt.NDArray[np.float32]


def log_mel(samples: Floats, n_mels: int = 80, length: int | None = None) -> Floats:
    """``(n_mels, max(len(samples), length) // HOP)`` features of ``samples`` (mono float32 at 16 kHz) followed by
    silence up to ``length`` samples (default: none). The STFT runs only where the audio reaches: past it the power
    is 0, as a whole window's STFT of the silence would give (a command's 8 s window: 1.8 ms instead of 4.8)."""
    total = max(len(samples), length or 0)
    head = np.zeros(min(total, len(samples) + N_FFT), np.float32)  # ends in N_FFT of silence, or is the whole window
    head[:len(samples)] = samples
    padded = np.pad(head, N_FFT // 2, mode="reflect")
    count = 1 + (len(padded) - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(padded, (count, N_FFT), (padded.strides[0] * HOP, padded.strides[0]))
    power = np.abs(np.fft.rfft(frames * _window(), axis=1)) ** 2
    columns = total // HOP  # the last frame is dropped
    heard = min(count, columns)
    mel = np.zeros((n_mels, columns), np.result_type(_filters(n_mels), power))
    mel[:, :heard] = _filters(n_mels) @ power[:heard].T
    spec = np.log10(np.maximum(mel, 1e-10))
    spec = np.maximum(spec, spec.max() - 8.0)
    features: Floats = ((spec + 4.0) / 4.0).astype(np.float32)
    return features


@functools.cache
def _window() -> Floats:
    n = np.arange(N_FFT)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)).astype(np.float32)


def _hz_to_mel(hz: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Slaney's scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above."""
    linear = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def _mel_to_hz(mel: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    linear = mel * (200.0 / 3)
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log_part, linear)


@functools.cache
def _filters(n_mels: int) -> Floats:
    """Triangular mel filters over the STFT's bins, each normalised to unit area (Slaney)."""
    bins = np.linspace(0, RATE / 2, 1 + N_FFT // 2)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(np.array(0.0)), _hz_to_mel(np.array(RATE / 2.0)), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - bins[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)
