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
import json
import os
import socket
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.voice_client import open_session, send_audio, until
from tests.fixtures_ovos import CACHE_DIR
from tests.fixtures_speech import silence, spoken

AT_REST_S = 2.0

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def descendants(pid: int) -> list[int]:
    """Every process under ``pid``; one that exits while it is looked at is left out."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:
            continue
        for child in children:
            found += [int(child), *descendants(int(child))]
    return found


def command(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:80]


async def healthy(port: int, proc: asyncio.subprocess.Process) -> None:
    while proc.returncode is None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())  # a Host that names it
            status = await reader.readline()
            writer.close()
            if b" 200 " in status:
                return
        except OSError:
            pass
        await asyncio.sleep(0.5)
    raise RuntimeError(f"the daemon exited with {proc.returncode}")


def measure(pid: int) -> dict[str, float]:
    sizes = {f"daemon {pid}": rss_mb(pid)}
    for child in descendants(pid):
        sizes[f"{command(child)} {child}"] = rss_mb(child)
    return sizes


async def one_round(tmp: Path, stt: str | None) -> dict[str, float]:
    port = free_port()
    standalone = {"state_dir": str(tmp / "skills"), "data_dir": str(CACHE_DIR / "data")}
    conf_dir = tmp / "config" / "mycroft"
    conf_dir.mkdir(parents=True, exist_ok=True)
    (conf_dir / "mycroft.conf").write_text(json.dumps({"realtime": {"standalone": standalone}}))
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp / "config"), "XDG_STATE_HOME": str(tmp / "state")}
    args = ["--standalone", "--port", str(port), *(["--stt", stt] if stt else [])]
    with (tmp / "daemon.log").open("wb") as out:
        proc = await asyncio.create_subprocess_exec(str(Path(sys.executable).parent / "ovos-realtime"), *args,
                                                    env=env, stdout=out, stderr=asyncio.subprocess.STDOUT)
    try:
        await asyncio.wait_for(healthy(port, proc), 300)
        ws = await open_session(port, {"output_modalities": ["audio"]})
        await asyncio.gather(send_audio(ws, silence(300) + spoken("what time is it") + silence(1200), paced=True),
                             until(ws, "response.done"))
        await ws.close()
        print(f"  {sum(measure(proc.pid).values()):7.1f} MB  together, as the answer ends")
        await asyncio.sleep(AT_REST_S)  # the engines' memory goes back once they have been quiet a second
        return measure(proc.pid)
    finally:
        proc.terminate()
        await proc.wait()


async def main(rounds: int, stt: str | None) -> None:
    totals = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            sizes = await one_round(Path(tmp), stt)
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
