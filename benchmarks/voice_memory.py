"""Memory of ``ovos-realtime --standalone`` (the daemon and its skills service) after a spoken turn.

Starts the real daemon as ``scripts/run.sh`` does (its own mycroft.conf in a scratch directory, the tests'
padatious cache), streams "what time is it" in real time and waits for the spoken answer, then prints the
resident memory (VmRSS) of the daemon and of each process under it, as the answer ends and at rest 2 s later
(the engines hand their run's memory back once they have been quiet a second). Target: ≤ 450 MB together.

    python -m benchmarks.voice_memory [--stt NAME] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics

from benchmarks.daemon_process import StandaloneDaemon, command, descendants, rss_mb
from benchmarks.voice_client import open_session, send_audio, until
from tests.fixtures_speech import silence, spoken

AT_REST_S = 2.0


def measure(pid: int) -> dict[str, float]:
    sizes = {f"daemon {pid}": rss_mb(pid)}
    for child in descendants(pid):
        sizes[f"{command(child)} {child}"] = rss_mb(child)
    return sizes


async def one_round(stt: str | None) -> dict[str, float]:
    daemon = StandaloneDaemon(args=["--stt", stt] if stt else [])
    await daemon.start()
    try:
        ws = await open_session(daemon.port, {"output_modalities": ["audio"]})
        await asyncio.gather(send_audio(ws, silence(300) + spoken("what time is it") + silence(1200), paced=True),
                             until(ws, "response.done"))
        await ws.close()
        print(f"  {sum(measure(daemon.pid).values()):7.1f} MB  together, as the answer ends")
        await asyncio.sleep(AT_REST_S)  # the engines' memory goes back once they have been quiet a second
        return measure(daemon.pid)
    finally:
        await daemon.stop()


async def main(rounds: int, stt: str | None) -> None:
    totals = []
    for _ in range(rounds):
        sizes = await one_round(stt)
        for name, mb in sizes.items():
            print(f"  {mb:7.1f} MB  {name}")
        totals.append(sum(sizes.values()))
        print(f"  {totals[-1]:7.1f} MB  together, {AT_REST_S:g} s later")
    print(f"daemon + skills service {AT_REST_S:g} s after a voice turn: median {statistics.median(totals):.0f} MB RSS "
          f"over {rounds} starts (target <= 450)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stt")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.stt))
