"""The default STT hearing N utterances one after the other against all N in one batch, in the same run.

What several people finishing their sentences at once cost the STT engine: Whisper tiny.en through
``ovos-stt-plugin-whisper-fitted``'s model class, as the daemon loads it (``cpu_threads`` = the cores it may run
on), N spoken commands (espeak-ng, 300 ms of silence before and 100 ms after, as the server's turn detection cuts
them) heard by ``hear`` one by one, then by ``hear_batch`` together (what the engine does with the transcriptions
waiting at once), alternating which goes first. Printed per N: median milliseconds of each way, their ratio
(batch / one by one; the median of the rounds' ratios), and whether every text came out the same.

    python -m benchmarks.bench_stt_batch [--rounds 7]
    taskset -c 0 python -m benchmarks.bench_stt_batch    # one core
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from benchmarks.bench_stt_accuracy import COMMANDS
from ovos_realtime_plugin.engines.choice import cpu_threads, offline_default
from ovos_realtime_plugin.engines.whisper_stt import FittedWhisper, Utterance
from tests.fixtures_speech import silence, spoken

SIZES = (1, 2, 4, 8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    whisper = FittedWhisper(offline_default("stt").config["model"], "int8", cpu_threads(), 1, 6)
    said = [Utterance(np.frombuffer(silence(300, 16000) + spoken(text, 16000) + silence(100, 16000),
                                    "<i2").astype(np.float32) / np.float32(32768), "en") for text in COMMANDS]
    whisper.hear_batch(said[:2])  # warm: the first calls of a shape allocate
    print(f"Whisper tiny.en, fitted windows, {cpu_threads()} thread(s), {args.rounds} rounds, "
          f"commands of {statistics.median(len(u.samples) for u in said) / 16000:.1f} s (median)")
    print("    N   one by one   batch   ratio   same text")
    start = 0
    for size in SIZES:
        apart, together, ratios, same = [], [], [], True
        for round_ in range(args.rounds):
            batch = [said[(start + n) % len(said)] for n in range(size)]
            start += size
            timed: dict[str, float] = {}
            for way in ("apart", "together") if round_ % 2 == 0 else ("together", "apart"):
                began = time.perf_counter()
                if way == "apart":
                    one_by_one = [whisper.hear(u.samples, u.language) for u in batch]
                else:
                    heard = whisper.hear_batch(batch)
                timed[way] = time.perf_counter() - began
            same = same and heard == one_by_one
            apart.append(timed["apart"])
            together.append(timed["together"])
            ratios.append(timed["together"] / timed["apart"])
        print(f"{size:5} {statistics.median(apart) * 1e3:9.0f} ms {statistics.median(together) * 1e3:5.0f} ms"
              f" {statistics.median(ratios):6.2f}   {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
