"""Benchmark the G.711 codec against audioop, and resampling against real time.

Run from the repository root:  python -m benchmarks.bench_g711 [--seconds 60] [--repeats 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from types import ModuleType

import numpy as np

from ovos_realtime_plugin.audio import g711
from ovos_realtime_plugin.audio.resample import StreamResampler, resample

RATE = 8000


def _load_audioop() -> ModuleType | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import audioop
        except ImportError:
            return None
    return audioop


def speech_like(seconds: float, rate: int) -> bytes:
    """A 100 Hz-3.4 kHz log sweep plus Laplacian noise, syllable-like envelope, peaks near full scale."""
    rng = np.random.default_rng(711)
    t = np.arange(round(seconds * rate)) / rate
    sweep_hz = 100.0 * (3400.0 / 100.0) ** ((t % 4.0) / 4.0)
    phase = 2 * np.pi * np.cumsum(sweep_hz) / rate
    envelope = 0.2 + 0.8 * np.abs(np.sin(2 * np.pi * 3.0 * t))
    signal = envelope * (0.6 * np.sin(phase) + 0.15 * rng.laplace(size=t.size))
    return (np.clip(signal, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def median_seconds(func: Callable[[], object], repeats: int) -> float:
    func()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_codec(pcm: bytes, repeats: int, audioop: ModuleType | None) -> None:
    ulaw, alaw = g711.ulaw_encode(pcm), g711.alaw_encode(pcm)
    ops: list[tuple[str, Callable[[], bytes], Callable[[], bytes] | None]] = [
        ("ulaw_encode", lambda: g711.ulaw_encode(pcm), (lambda: audioop.lin2ulaw(pcm, 2)) if audioop else None),
        ("ulaw_decode", lambda: g711.ulaw_decode(ulaw), (lambda: audioop.ulaw2lin(ulaw, 2)) if audioop else None),
        ("alaw_encode", lambda: g711.alaw_encode(pcm), (lambda: audioop.lin2alaw(pcm, 2)) if audioop else None),
        ("alaw_decode", lambda: g711.alaw_decode(alaw), (lambda: audioop.alaw2lin(alaw, 2)) if audioop else None),
    ]
    print(f"{'operation':<12} {'ours ms':>9} {'audioop ms':>11} {'ours/audioop':>13} {'ours x RT':>10}")
    audio_seconds = len(pcm) / 2 / RATE
    for name, ours, theirs in ops:
        ours_s = median_seconds(ours, repeats)
        if theirs is None:
            print(f"{name:<12} {ours_s * 1e3:9.3f} {'n/a':>11} {'n/a':>13} {audio_seconds / ours_s:10.0f}")
            continue
        if ours() != theirs():
            sys.exit(f"{name}: output differs from audioop")
        theirs_s = median_seconds(theirs, repeats)
        print(
            f"{name:<12} {ours_s * 1e3:9.3f} {theirs_s * 1e3:11.3f} "
            f"{ours_s / theirs_s:13.2f} {audio_seconds / ours_s:10.0f}"
        )


def bench_resample(seconds: float, repeats: int) -> None:
    pcm24 = speech_like(seconds, 24000)
    chunk = 24000 // 50 * 2  # 20 ms of PCM16

    def streamed() -> bytes:
        stream = StreamResampler(24000, 16000)
        out = [stream.process(pcm24[i : i + chunk]) for i in range(0, len(pcm24), chunk)]
        return b"".join(out) + stream.flush()

    one_shot_s = median_seconds(lambda: resample(pcm24, 24000, 16000), repeats)
    streamed_s = median_seconds(streamed, repeats)
    print(f"resample 24k->16k one-shot:       {one_shot_s * 1e3:8.2f} ms = {seconds / one_shot_s:7.0f}x real time")
    print(f"resample 24k->16k 20 ms chunks:   {streamed_s * 1e3:8.2f} ms = {seconds / streamed_s:7.0f}x real time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    audioop = _load_audioop()
    print(f"Python {sys.version.split()[0]}, numpy {np.__version__}, audioop {'yes' if audioop else 'missing'}")
    print(f"{args.seconds:g} s of 8 kHz speech-like PCM16, median of {args.repeats} runs")
    bench_codec(speech_like(args.seconds, RATE), args.repeats, audioop)
    bench_resample(args.seconds, args.repeats)


if __name__ == "__main__":
    main()
