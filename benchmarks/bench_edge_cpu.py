"""Is the speech edge's CPU work cheap enough for the event loop? Each piece against the loop's own work.

The speech driver runs on the event loop: per appended chunk it decodes (G.711) and resamples for VAD;
per spoken sentence it resamples and encodes the TTS audio; per committed item it decodes and cuts long
audio into pieces. The models themselves run in worker threads. Each piece is measured against a baseline
the loop does for the same audio anyway, in the same run: sending it as Realtime events (base64 + json.dumps
of the ``*.delta`` events). Printed: medians and the ratio.

    python -m benchmarks.bench_edge_cpu [--repeats 200]
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import time
from collections.abc import Callable

from benchmarks.bench_g711 import speech_like
from ovos_realtime_plugin.audio.codec import decode_to_pcm16, encode_from_pcm16, whole_samples
from ovos_realtime_plugin.audio.resample import QUICK, StreamResampler, resample
from ovos_realtime_plugin.server.sentence_audio import CHUNK_MS
from ovos_realtime_plugin.server.speech_lanes import split_long_audio


def median_ms(func: Callable[[], object], repeats: int) -> float:
    func()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def as_events(audio: bytes, bytes_per_chunk: int) -> None:
    """What the loop does to send ``audio`` anyway: one delta event per chunk."""
    for start in range(0, len(audio), bytes_per_chunk):
        chunk = audio[start:start + bytes_per_chunk]
        json.dumps({"type": "response.output_audio.delta", "event_id": "event_x", "response_id": "resp_x",
                    "item_id": "item_x", "output_index": 0, "content_index": 0,
                    "delta": base64.b64encode(chunk).decode("ascii")}, separators=(",", ":"))


def report(name: str, work_ms: float, baseline_ms: float) -> None:
    print(f"{name:<44} median {work_ms:8.3f} ms   baseline {baseline_ms:8.3f} ms   ratio {work_ms / baseline_ms:5.2f}x")


def main(repeats: int) -> None:
    chunk_24k = speech_like(CHUNK_MS / 1000, 24000)
    chunk_ulaw = encode_from_pcm16(speech_like(CHUNK_MS / 1000, 8000), "audio/pcmu")
    vad = StreamResampler(24000, 16000, QUICK)
    report("append 100 ms PCM 24k: VAD resample to 16k", median_ms(lambda: vad.process(chunk_24k), repeats),
           median_ms(lambda: as_events(chunk_24k, len(chunk_24k)), repeats))
    vad8 = StreamResampler(8000, 16000, QUICK)
    report("append 100 ms G.711: decode + VAD resample",
           median_ms(lambda: vad8.process(decode_to_pcm16(chunk_ulaw, "audio/pcmu")), repeats),
           median_ms(lambda: as_events(chunk_ulaw, len(chunk_ulaw)), repeats))
    sentence = speech_like(3.0, 22050)  # a 3 s sentence from a 22.05 kHz TTS voice
    out = resample(sentence, 22050, 24000)
    report("speak a 3 s sentence: resample 22.05k→24k", median_ms(lambda: resample(sentence, 22050, 24000), repeats),
           median_ms(lambda: as_events(out, 4800), repeats))
    out8 = resample(sentence, 22050, 8000)
    report("speak a 3 s sentence: resample →8k + G.711",
           median_ms(lambda: encode_from_pcm16(resample(sentence, 22050, 8000), "audio/pcmu"), repeats),
           median_ms(lambda: as_events(encode_from_pcm16(out8, "audio/pcmu"), 800), repeats))
    item = speech_like(60.0, 24000)  # a long committed item (one minute)
    report("commit 60 s: whole samples + split in pieces",
           median_ms(lambda: split_long_audio(whole_samples(decode_to_pcm16(item, "audio/pcm")), 24000), repeats),
           median_ms(lambda: base64.b64encode(item), repeats))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=200)
    main(parser.parse_args().repeats)
