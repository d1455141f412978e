"""Several people talking at once: K simultaneous speakers, each its own voice session, on the standalone daemon.

The daemon is ``ovos-realtime --standalone`` as ``scripts/run.sh`` starts it (embedded bus, ovos-core's skills
service with the installed skills, the default offline engines), with its own mycroft.conf in a scratch directory,
so that its CPU time and memory are its own. Each speaker's microphone streams without a break, 100 ms appends
(``--chunk-ms``) in real time (silence, then "what time is it" spoken by espeak-ng, then silence again). A round
starts every speaker's question at a random moment within one second (seeded), and ends when every turn of the round
is answered, failed or past its timeout; ``--turns`` rounds per cell. A cell is one turn-detection mode
(``server_vad`` 500 ms silence, ``semantic_vad`` auto) with K speakers, on a daemon with the default early answers
or with ``"early_answer_skills": []`` (no answer before the turn ends, as for skills that act).

Printed per cell: turns answered / asked (the rest by reason: failed, refused, no answer within ``--timeout``
seconds of the end of voice), p50 / p95 of end of voice (the last loud 10 ms of the audio, as ``bench_voice``) →
first audio delta of the turn's completed response (over the turns of the sessions that opened, an unanswered
one counted as past the timeout), that p95 over the p95 of K=1 in the same mode and run (the baseline), p50 / p95
of the turn's ``speech_stopped`` (as the client got it) → that first audio (the server's part once the turn has
ended: with ``server_vad``, what comes after its silence window), the
server's CPU per turn (the daemon process, and its skills service child, from /proc), and the daemon's resident
memory per voice session (at rest with the K sessions open minus at rest before they opened, over K).

    python -m benchmarks.bench_voice_concurrency [--k 1,2,4,8,16,32] [--turns 2] [--timeout 30] [--seed 7]
                                                 [--vad server_vad,semantic_vad] [--early on,off] [--json FILE]
                                                 [--max-sessions N] [--conf JSON] [--trace FILE]
                                                 [--chunk-ms 100]

With ``--trace FILE`` the daemon's trace of every voice turn (``server/voice_trace.py``, a debug line per turn; the
daemon runs the console script's ``main`` with that logger alone at debug level) is appended to FILE.

With ``--max-sessions N`` the daemon runs with ``"limits": {"max_sessions": N}``: the speakers past N are refused
at connect (``session_limit_reached``, close 1013) and counted as refused. Past the daemon's voice capacity
(``limits.max_voice_sessions``, by default 8 per core) a session is refused likewise at its first audio: its turns
count as refused, and the percentiles are over the turns the server took.

On one core: ``taskset -c 0 python -m benchmarks.bench_voice_concurrency`` (the daemon inherits the affinity).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from benchmarks.daemon_process import StandaloneDaemon, cpu_seconds, descendants, rss_mb
from benchmarks.voice_client import BYTES_PER_MS, CHUNK_MS, stats

QUESTION = "what time is it"
VADS: dict[str, dict[str, object]] = {"server_vad": {"type": "server_vad", "silence_duration_ms": 500},
                                      "semantic_vad": {"type": "semantic_vad", "eagerness": "auto"}}
EARLY: dict[str, list[str] | None] = {"on": None, "off": []}
"""The daemon's ``early_answer_skills``: None keeps the default (the answer-only skills), [] none at all."""
CONNECT_TIMEOUT_S = 30.0
AT_REST_S = 2.0  # the engines hand their run's memory back once quiet for a second (heap.IDLE)
ROUND_GAP_S = 0.5


# -- the server (a child process) ---------------------------------------------------------------------
class Server(StandaloneDaemon):
    """The daemon of a run: the default early answers or none, optionally a session limit and more settings."""

    def __init__(self, early: str, max_sessions: int | None, extra: str | None = None,
                 trace: str | None = None) -> None:
        section: dict[str, Any] = {}
        if EARLY[early] is not None:
            section["early_answer_skills"] = EARLY[early]
        if max_sessions is not None:
            section["limits"] = {"max_sessions": max_sessions}
        section.update(json.loads(extra or "{}"))
        super().__init__(section, trace=trace)

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far: (the daemon, the skills service and any other child of it)."""
        return cpu_seconds(self.pid), sum(cpu_seconds(pid) for pid in descendants(self.pid))

    def rss_mb(self) -> float:
        return rss_mb(self.pid)


# -- the speakers ---------------------------------------------------------------------------------------
@dataclass
class Turn:
    end_of_voice: float
    """Wall time (perf_counter) of the last loud 10 ms of the question."""
    first_audio: float | None = None
    stopped: float | None = None
    """When the client heard the ``speech_stopped`` that ended the turn (the last one before its response)."""
    outcome: str = "no answer"
    """"answered", "failed: <status> <code>", "socket <how it closed>", or what was missing at the timeout."""
    done_at: float | None = None
    errors: list[str] = field(default_factory=list)
    """The codes of the ``error`` events the session got during the turn."""


@dataclass
class Speaker:
    """One voice session: a mic that never stops, and a reader that keeps every event's type and time."""

    ws: ClientConnection
    chunk_ms: int = CHUNK_MS
    """The audio each append carries (the mic sends one every ``chunk_ms``, in real time)."""
    origin: float = 0.0
    """When the mic stream's millisecond 0 was spoken (its chunk n leaves at origin + (n + 1) * chunk_ms)."""
    sent_ms: int = 0
    queued: list[tuple[int, bytes]] = field(default_factory=list)
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    closed: str | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def mic(self) -> None:
        step = BYTES_PER_MS * self.chunk_ms
        n = 0
        while True:
            chunk = bytearray(step)
            for start_ms, audio in self.queued:  # overlay the parts of queued utterances this chunk holds
                at = (start_ms - self.sent_ms) * BYTES_PER_MS
                lo, hi = max(0, at), min(step, at + len(audio))
                if lo < hi:
                    chunk[lo:hi] = audio[lo - at:hi - at]
            end = self.sent_ms + self.chunk_ms
            self.queued = [(s, a) for s, a in self.queued if (s + len(a) // BYTES_PER_MS) > end]
            await self.ws.send(json.dumps({"type": "input_audio_buffer.append",
                                           "audio": base64.b64encode(bytes(chunk)).decode()}))
            self.sent_ms = end
            n += 1
            await asyncio.sleep(max(0.0, self.origin + (n + 1) * self.chunk_ms / 1000 - time.perf_counter()))

    def say(self, at: float, audio: bytes, voice_end_ms: int) -> float:
        """Put ``audio`` into the mic stream at wall time ``at`` (or the first moment not yet sent); returns the
        wall time of its end of voice."""
        start_ms = max(int((at - self.origin) * 1000), self.sent_ms + self.chunk_ms)
        self.queued.append((start_ms, audio))
        return self.origin + (start_ms + voice_end_ms) / 1000

    async def read(self) -> None:
        try:
            async for message in self.ws:
                event = json.loads(message)
                if event["type"].endswith(".delta") and "delta" in event:
                    event["delta"] = ""  # kept for its type and ids only
                self.events.append((time.perf_counter(), event))
                self.changed.set()
        except Exception as exc:  # a closed socket ends the speaker, whatever closed it
            self.closed = repr(exc)
        else:
            self.closed = f"closed {self.ws.close_code} {self.ws.close_reason}"
        self.changed.set()

    def start(self) -> None:
        self.origin = time.perf_counter() - self.chunk_ms / 1000  # the first chunk leaves now
        self.tasks = [asyncio.create_task(self.mic()), asyncio.create_task(self.read())]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 10)

    async def turn(self, at: float, audio: bytes, voice_end_ms: int, timeout: float) -> Turn:
        """Say ``audio`` at ``at`` (ahead of the mic's stream) and wait for its answer."""
        mark = begun = len(self.events)
        turn = Turn(self.say(at, audio, voice_end_ms))
        deadline = turn.end_of_voice + timeout
        responses: set[str] = set()
        first_audio: dict[str, float] = {}
        while True:
            for when, event in self.events[mark:]:
                kind = event["type"]
                if kind == "input_audio_buffer.speech_stopped" and not responses:
                    turn.stopped = when
                elif kind == "response.created":
                    responses.add(event["response"]["id"])
                elif kind == "response.output_audio.delta" and event["response_id"] in responses:
                    first_audio.setdefault(event["response_id"], when)
                elif kind == "error":
                    turn.errors.append(str(event["error"].get("code")))
                    if event["error"].get("code") == "session_limit_reached":  # past the voice capacity
                        turn.outcome = "refused: session_limit_reached"
                        return turn
                elif kind == "response.done" and event["response"]["id"] in responses:
                    response = event["response"]
                    if response["status"] == "completed" and response["id"] in first_audio:
                        turn.outcome, turn.first_audio = "answered", first_audio[response["id"]]
                        turn.done_at = when
                        return turn
                    if response["status"] != "cancelled":
                        details = response.get("status_details") or {}
                        error = details.get("error") or {}
                        turn.outcome = f"failed: {response['status']} {error.get('code') or details.get('reason')}"
                        turn.done_at = when
                        return turn
            mark = len(self.events)
            if self.closed is not None:  # refused past the voice capacity, when the close came before its error
                refused = "session_limit_reached" in self.closed
                turn.outcome = "refused: session_limit_reached" if refused else f"socket {self.closed}"
                return turn
            left = deadline - time.perf_counter()
            if left <= 0:
                turn.outcome = missing([event for _, event in self.events[begun:]], responses, first_audio)
                return turn
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                pass


def missing(events: list[dict[str, Any]], responses: set[str], first_audio: dict[str, float]) -> str:
    """What an unanswered turn got before its timeout."""
    kinds = {event["type"] for event in events}
    if first_audio:
        return "stalled: audio started, response never done"
    if responses:
        return "stalled: response created, no audio"
    if "input_audio_buffer.committed" in kinds:
        return "stalled: committed, no response"
    if "input_audio_buffer.speech_started" in kinds:
        return "stalled: speech heard, turn never ended"
    return "stalled: no speech heard"


async def open_speaker(port: int, vad: dict[str, object], chunk_ms: int) -> Speaker | str:
    """A session in ``vad`` mode whose mic sends ``chunk_ms`` appends, or why it was refused."""
    try:
        return await asyncio.wait_for(try_open(port, vad, chunk_ms), 2 * CONNECT_TIMEOUT_S)
    except Exception as exc:  # a refused, dropped or timed-out connection: counted, the cell goes on
        return f"refused: {exc!r}"


async def try_open(port: int, vad: dict[str, object], chunk_ms: int) -> Speaker | str:
    ws = await connect(f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime", max_size=None,
                       open_timeout=CONNECT_TIMEOUT_S)
    first = json.loads(await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT_S))
    if first["type"] != "session.created":
        await ws.close()
        return f"refused: {first.get('error', {}).get('code')}"
    await ws.send(json.dumps({"type": "session.update", "session": {
        "type": "realtime", "output_modalities": ["audio"], "audio": {"input": {"turn_detection": vad}}}}))
    while json.loads(await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT_S))["type"] != "session.updated":
        pass
    return Speaker(ws, chunk_ms)


# -- one cell -------------------------------------------------------------------------------------------
@dataclass
class Cell:
    vad: str
    early: str
    k: int
    turns: list[Turn] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    """Why each refused speaker's session did not open (each of its turns counts as asked, not answered)."""
    asked: int = 0
    cpu_daemon_s: float = 0.0
    cpu_children_s: float = 0.0
    rss_per_session_mb: float = 0.0
    wall_s: float = 0.0
    loadavg: str = ""

    @property
    def latencies(self) -> list[float]:
        return [t.first_audio - t.end_of_voice for t in self.turns if t.first_audio is not None]

    @property
    def after_stop(self) -> list[float]:
        """``speech_stopped`` → first audio of the answered turns: the server's part once the turn has ended."""
        return [t.first_audio - t.stopped for t in self.turns if t.first_audio is not None and t.stopped is not None]

    @property
    def waits(self) -> list[float]:
        """End of voice → first audio of every turn the server took (not refused), an unanswered one as infinite."""
        return [math.inf if t.first_audio is None else t.first_audio - t.end_of_voice for t in self.turns
                if not t.outcome.startswith("refused")]

    @property
    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for t in self.turns:
            counts[t.outcome] = counts.get(t.outcome, 0) + 1
        for why in self.refusals:
            counts[f"{why} at connect"] = counts.get(f"{why} at connect", 0) + self.asked // self.k
        return counts


async def run_cell(server: Server, vad: str, early: str, k: int, rounds: int, timeout: float,
                   rng: random.Random, words: bytes, voice_end_ms: int, chunk_ms: int = CHUNK_MS) -> Cell:
    cell = Cell(vad, early, k, asked=k * rounds)
    await asyncio.sleep(AT_REST_S)
    rss_before = server.rss_mb()
    cpu_before = server.cpu()
    began = time.perf_counter()
    opened = await asyncio.gather(*(open_speaker(server.port, VADS[vad], chunk_ms) for _ in range(k)))
    speakers = [s for s in opened if isinstance(s, Speaker)]
    cell.refusals = [s for s in opened if isinstance(s, str)]
    for speaker in speakers:
        speaker.start()
    try:
        for n in range(rounds):
            start = time.perf_counter() + ROUND_GAP_S
            turns = await asyncio.gather(*(s.turn(start + rng.random(), words, voice_end_ms, timeout)
                                           for s in speakers))
            cell.turns += turns
            if n + 1 < rounds:
                kept = await asyncio.gather(*(again(server, vad, s, t) for s, t in zip(speakers, turns, strict=True)))
                gone = [s for s in kept if isinstance(s, str)]
                cell.turns += [Turn(0.0, outcome=f"{why} at reconnect") for why in gone for _ in range(rounds - n - 1)]
                speakers = [s for s in kept if isinstance(s, Speaker)]
        cell.wall_s = time.perf_counter() - began
        daemon, children = server.cpu()
        cell.cpu_daemon_s, cell.cpu_children_s = daemon - cpu_before[0], children - cpu_before[1]
        await asyncio.sleep(AT_REST_S)
        cell.rss_per_session_mb = (server.rss_mb() - rss_before) / max(1, len(speakers))
    finally:
        await asyncio.gather(*(s.stop() for s in speakers if isinstance(s, Speaker)))
    cell.loadavg = loadavg()
    return cell


async def again(server: Server, vad: str, speaker: Speaker, turn: Turn) -> Speaker | str:
    """``speaker`` for the next round, or a fresh session when its turn got no answer (it may come later)."""
    if turn.outcome == "answered" or turn.outcome.startswith("failed"):
        return speaker
    await speaker.stop()
    fresh = await open_speaker(server.port, VADS[vad], speaker.chunk_ms)
    if isinstance(fresh, Speaker):
        fresh.start()
    return fresh


def describe(cell: Cell) -> str:
    answered = len(cell.latencies)
    lost = ", ".join(f"{n} {why}" for why, n in sorted(cell.outcomes.items()) if why != "answered")
    errors = sorted({code for t in cell.turns for code in t.errors})
    return (f"{answered}/{cell.asked}" + (f" ({lost})" if lost else "")
            + (f" errors: {', '.join(errors)}" if errors else ""))


def ms(seconds: float, timeout: float) -> str:
    return f"> {timeout * 1000:,.0f}" if math.isinf(seconds) else f"{seconds * 1000:,.0f}"


def table(cells: list[Cell], timeout: float) -> str:
    """Percentiles over the turns the server took (not refused), an unanswered turn counted as past ``timeout``;
    CPU per turn over the same turns."""
    base: dict[tuple[str, str], float] = {}
    for cell in cells:
        if cell.k == 1 and cell.waits:
            base[(cell.vad, cell.early)] = stats(cell.waits)[1]
    lines = ["| turn detection | early answers | K | answered | end of voice → first audio p50 / p95 | "
             "p95 / K=1 p95 | speech_stopped → first audio p50 / p95 | CPU per turn: daemon + skills | "
             "RSS per voice session |",
             "|---|---|---|---|---|---|---|---|---|"]
    for cell in cells:
        latency, ratio, after = "–", "–", "–"
        if cell.after_stop:
            after = "{:,.0f} / {:,.0f} ms".format(*(x * 1000 for x in stats(cell.after_stop)))
        if cell.waits:
            p50, p95 = stats(cell.waits)
            latency = f"{ms(p50, timeout)} / {ms(p95, timeout)} ms"
            one = base.get((cell.vad, cell.early), math.inf)
            if not math.isinf(one) and not math.isinf(p95):
                ratio = f"{p95 / one:.2f}×"
        turns = max(1, len(cell.waits))  # the turns the server took
        cpu = f"{cell.cpu_daemon_s / turns * 1000:,.0f} + {cell.cpu_children_s / turns * 1000:,.0f} ms"
        lines.append(f"| {cell.vad} | {cell.early} | {cell.k} | {describe(cell)} | {latency} | {ratio} | {after} | "
                     f"{cpu} | "
                     f"{cell.rss_per_session_mb:.1f} MB |")
    return "\n".join(lines)


def save(path: Path, cells: list[Cell]) -> None:
    path.write_text(json.dumps([{
        "vad": c.vad, "early": c.early, "k": c.k, "asked": c.asked, "outcomes": c.outcomes,
        "errors": sorted({code for t in c.turns for code in t.errors}),
        "latencies_ms": [round(x * 1000) for x in c.latencies],
        "after_speech_stopped_ms": [round(x * 1000) for x in c.after_stop], "cpu_daemon_s": c.cpu_daemon_s,
        "cpu_children_s": c.cpu_children_s, "rss_per_session_mb": c.rss_per_session_mb, "wall_s": c.wall_s,
        "loadavg": c.loadavg,
        "done_after_voice_ms": [round((t.done_at - t.end_of_voice) * 1000) for t in c.turns if t.done_at]}
        for c in cells], indent=1))


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def main(ks: list[int], rounds: int, timeout: float, seed: int, vads: list[str], earlies: list[str],
               out: str | None, max_sessions: int | None, extra: str | None = None,
               trace: str | None = None, chunk_ms: int = CHUNK_MS) -> None:
    from tests.fixtures_speech import spoken, voiced_ms

    words = spoken(QUESTION)
    voice_end_ms = voiced_ms(words)[1]  # as bench_voice: the last loud sample
    rng = random.Random(seed)
    cells: list[Cell] = []
    cores = len(os.sched_getaffinity(0))
    limit = "" if max_sessions is None else f", limits.max_sessions {max_sessions}"
    limit += "" if extra is None else f", realtime {extra}"
    print(f"{cores} core(s){limit}, load {loadavg()} at the start, {time.strftime('%Y-%m-%d %H:%M %Z')}", flush=True)
    for early in earlies:
        server = Server(early, max_sessions, extra, trace)
        try:
            await server.start()
            for vad in vads:
                await run_cell(server, vad, early, 1, 1, timeout, rng, words, voice_end_ms, chunk_ms)  # warm-up
                for k in ks:
                    cell = await run_cell(server, vad, early, k, rounds, timeout, rng, words, voice_end_ms,
                                          chunk_ms)
                    cells.append(cell)
                    print(f"  {vad} early {early} K={k}: {describe(cell)}, "
                          f"{[round(x * 1000) for x in sorted(cell.latencies)]} ms, {cell.wall_s:.0f} s, "
                          f"load {loadavg()}", flush=True)
        finally:
            await server.stop()
    print(f"\n'{QUESTION}' x {rounds} turns per speaker, {chunk_ms} ms appends, {cores} core(s), "
          f"load {loadavg()} at the end\n")
    print(table(cells, timeout))
    if out:
        save(Path(out), cells)

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", default="1,2,4,8,16,32", help="speakers at once, comma-separated")
    parser.add_argument("--turns", type=int, default=2, help="turns per speaker")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds after the end of voice a turn may take")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--vad", default=",".join(VADS), help="turn-detection modes, comma-separated")
    parser.add_argument("--early", default="on,off", help="early answers: on (the default skills), off ([])")
    parser.add_argument("--json", help="write every cell's raw numbers to this file")
    parser.add_argument("--max-sessions", type=int,
                        help='the daemon\'s "limits": {"max_sessions": N} (sessions past it are refused at connect)')
    parser.add_argument("--conf", help='JSON merged into the daemon\'s "realtime" section, e.g. '
                                           '\'{"engines": {"tts_cache_mb": 0}}\'')
    parser.add_argument("--chunk-ms", type=int, default=CHUNK_MS,
                        help="the audio in each append (100; a WebRTC or telephone stream's frames are 20)")
    parser.add_argument("--trace", help="append the daemon's trace of every voice turn (its stages, relative to "
                                        "speech_stopped) to this file")
    args = parser.parse_args()
    asyncio.run(main([int(k) for k in args.k.split(",")], args.turns, args.timeout, args.seed, args.vad.split(","),
                     args.early.split(","), args.json, args.max_sessions, args.conf,
                     args.trace and str(Path(args.trace).resolve()), args.chunk_ms))
