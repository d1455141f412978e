"""Utterance emitted → first ``speak`` received, through a real messagebus and a real skill.

The same turns (OvosAssistant.respond, time to the first TextDelta and to the end of the turn) on:

- ``stock``:            ``ovos-messagebus`` (the ovos-messagebus console script) in its own process;
- ``nodelay``:          our EmbeddedBus (same handler + TCP_NODELAY) in its own process;
- ``nodelay-inproc``:   our EmbeddedBus on a thread of this process (how the server runs it).

Each bus gets the ovos-core skills service (warm padatious cache) for its run.

    .venv/bin/python benchmarks/bench_bus.py [--turns 20]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from ovos_realtime_plugin.bus.assistant import OvosAssistant
from ovos_realtime_plugin.bus.client import BusConnection
from ovos_realtime_plugin.bus.embedded_bus import EmbeddedBus
from ovos_realtime_plugin.bus.skills_service import SkillsService, SkillsServiceSettings
from ovos_realtime_plugin.core.assistant import AssistantRequest, TextDelta
from ovos_realtime_plugin.core.items import Content, Item

CACHE_DIR = Path(os.environ.get("OVOS_REALTIME_TEST_CACHE", "~/.cache/ovos-realtime-tests")).expanduser()
UTTERANCES = ("what time is it", "hello world")
T = TypeVar("T")
Measure = Callable[[int], Awaitable[T]]
"""A measurement on the bus at a port."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def request(text: str, session_id: str) -> AssistantRequest:
    item = Item(id="item_bench", type="message", role="user", content=[Content(type="input_text", text=text)])
    return AssistantRequest(response_id=f"resp_{uuid.uuid4().hex}", items=(item,), instructions="", tools=(),
                            tool_choice="auto", output_modalities=("text",), max_output_tokens=None,
                            temperature=None, parallel_tool_calls=False, metadata=None, language=None,
                            voice="alloy", session_id=session_id)


def spawn_bus(kind: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    if kind == "stock":
        config_home = workdir / "stock-config"
        (config_home / "mycroft").mkdir(parents=True, exist_ok=True)
        (config_home / "mycroft" / "mycroft.conf").write_text(
            json.dumps({"websocket": {"host": "127.0.0.1", "port": port, "route": "/core"}}))
        env = {**os.environ, "XDG_CONFIG_HOME": str(config_home), "XDG_STATE_HOME": str(workdir / "stock-state")}
        command = [str(Path(sys.executable).parent / "ovos-messagebus")]
    else:
        env = dict(os.environ)
        command = [sys.executable, "-m", "ovos_realtime_plugin.bus.embedded_bus", "--port", str(port)]
    log = (workdir / f"{kind}-bus.log").open("wb")
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


async def measure(port: int, turns: int) -> dict[str, list[float]]:
    bus = BusConnection(port=port)
    await bus.connect()
    assistant = OvosAssistant(bus)
    session_id = f"bench_{uuid.uuid4().hex}"
    samples: dict[str, list[float]] = {f"{u} / {k}": [] for u in UTTERANCES for k in ("first speak", "turn")}
    try:
        for i in range(turns + 2):
            for text in UTTERANCES:
                start = time.perf_counter()
                first = None
                async for out in assistant.respond(request(text, session_id)):
                    if first is None and isinstance(out, TextDelta):
                        first = time.perf_counter() - start
                total = time.perf_counter() - start
                if i >= 2 and first is not None:  # two warm-up rounds
                    samples[f"{text} / first speak"].append(first * 1000)
                    samples[f"{text} / turn"].append(total * 1000)
    finally:
        await bus.close()
    return samples


async def run_with_skills(port: int, measure: Measure[T]) -> T:
    """``measure(port)`` with the ovos-core skills service (warm padatious cache) on the bus at ``port``."""
    skills = SkillsService(SkillsServiceSettings(bus_port=port, state_dir=Path(tempfile.mkdtemp(prefix="bench-")),
                                                 data_dir=CACHE_DIR / "data", report_offline=True))
    await skills.start()
    try:
        return await measure(port)
    finally:
        await asyncio.to_thread(skills.stop)


async def with_subprocess_bus(kind: str, measure: Measure[T], workdir: Path) -> T:
    """``measure`` on a ``stock`` or ``nodelay`` bus in its own process, skills running."""
    port = free_port()
    proc = spawn_bus(kind, port, workdir)
    try:
        probe = BusConnection(port=port)
        await probe.connect(timeout=20.0)
        await probe.close()
        return await run_with_skills(port, measure)
    finally:
        proc.terminate()
        proc.wait(10)


async def with_inproc_bus(measure: Measure[T]) -> T:
    """``measure`` on our EmbeddedBus on a thread of this process (how the daemon runs it), skills running."""
    bus = EmbeddedBus(port=0)
    bus.start()
    try:
        return await run_with_skills(bus.port, measure)
    finally:
        bus.stop()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20)
    args = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        turns = functools.partial(measure, turns=args.turns)
        runs: dict[str, Callable[[], Awaitable[dict[str, list[float]]]]] = {
            "stock": lambda: with_subprocess_bus("stock", turns, Path(tmp)),
            "nodelay": lambda: with_subprocess_bus("nodelay", turns, Path(tmp)),
            "nodelay-inproc": lambda: with_inproc_bus(turns),
        }
        for name, run in runs.items():
            print(f"running {name} ...", flush=True)
            results[name] = await run()
    print(f"\n{'bus':<16}{'measure':<32}{'n':>4}{'p50 ms':>10}{'p95 ms':>10}")
    for name, samples in results.items():
        for key, values in samples.items():
            print(f"{name:<16}{key:<32}{len(values):>4}{pct(values, 0.5):>10.1f}{pct(values, 0.95):>10.1f}")
    print()
    for key in results["stock"]:
        stock = statistics.median(results["stock"][key])
        for name in ("nodelay", "nodelay-inproc"):
            print(f"{key:<32} p50 stock / {name}: {stock / statistics.median(results[name][key]):.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
