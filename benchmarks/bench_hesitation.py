"""People pause inside a sentence ("turn on the … kitchen lights"): how often is the turn cut there, and how fast
is the answer when it is not? The two numbers side by side, since an end of turn that is faster because it cuts
people off is not faster.

The daemon runs as ``bench_voice_concurrency`` runs it (``ovos-realtime --standalone`` as ``scripts/run.sh`` starts
it: embedded bus, the installed skills, the default offline engines, default early answers). Each trial opens a
fresh voice session whose microphone streams without a break at a mic's pace, says one command spoken by espeak-ng
with a hesitation of ``--pauses`` ms of silence between its two halves (from the last loud sample of the first to
the first of the second; 0 = said in one breath, the baseline), and waits until every turn it made is answered, or
``--timeout`` seconds past the end of voice.

A trial is **cut** when the server committed more than one turn for the command (it ended the turn at the
hesitation). Printed per turn-detection mode (``semantic_vad`` auto, ``server_vad`` 500 ms) and pause: trials,
cut (count and %), how many of the cuts are of the hard cases (:data:`HARD`), and over the trials not cut,
p50 / p95 of end of voice (the last loud 10 ms) → first audio of the answer, with that p50 over the same mode's
one-breath p50 from the same run.

    python -m benchmarks.bench_hesitation [--pauses 0,300,450,600] [--vad semantic_vad,server_vad]
                                          [--repeat 1] [--timeout 30]

On one core: ``taskset -c 0 python -m benchmarks.bench_hesitation``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from dataclasses import dataclass, field

from benchmarks.bench_voice_concurrency import VADS, Server, Speaker, loadavg, open_speaker
from benchmarks.voice_client import CHUNK_MS, stats

COMMANDS: tuple[tuple[str, str], ...] = (
    ("turn on the", "kitchen lights"),
    ("set a timer for", "ten minutes"),
    ("what is the weather like", "in london"),
    ("remind me to", "call my mother"),
    ("play some", "jazz music"),
    ("how far away is", "the moon"),
    ("add milk to", "my shopping list"),
    ("what time is it", "in tokyo"),
    ("turn off", "the bedroom fan"),
    ("tell me", "a joke"),
    ("open", "the garage door"),
    ("set an alarm for", "seven tomorrow morning"),
    ("what's the capital of", "australia"),
    ("dim the lights in", "the living room"),
    ("send a message to", "my wife"),
    ("how do you say thank you", "in french"),
)
"""Two halves: a hesitation goes between them, where people pause to find the next words (after an article, a
preposition, a verb before its object)."""
HARD = frozenset({"what time is it", "how do you say thank you"})
"""Commands whose first half is itself a whole question: said alone, it is answered at once, so no reading of the
words can hold the turn open for the rest without slowing every question."""
SETTLE_S = 2.5  # after the end of voice: longer than any silence window, so a turn left open would have ended


@dataclass
class Trial:
    command: str
    pause_ms: int
    turns: int = 0
    """How many turns the server committed for the command (1 = not cut)."""
    transcripts: list[str] = field(default_factory=list)
    latency: float | None = None
    """End of voice → first audio of the answer to the command's last turn (None: not answered in time)."""


async def trial(port: int, vad: str, first: str, second: str, pause_ms: int, timeout: float) -> Trial | str:
    from tests.fixtures_speech import silence, spoken, voiced_ms

    if pause_ms == 0:
        audio = spoken(f"{first} {second}")
    else:  # espeak-ng pads each clip with silence (~350 ms after the voice): the hesitation is the pause alone
        head, tail = spoken(first), spoken(second)
        audio = head[:ms_bytes(voiced_ms(head)[1] + 1)] + silence(pause_ms) + tail[ms_bytes(voiced_ms(tail)[0]):]
    speaker = await open_speaker(port, VADS[vad], CHUNK_MS)
    if isinstance(speaker, str):
        return speaker
    await speaker.ws.send(json.dumps({"type": "session.update", "session": {  # the transcripts, to print
        "type": "realtime", "audio": {"input": {"transcription": {"model": "whisper-1"}}}}}))
    while json.loads(await asyncio.wait_for(speaker.ws.recv(), 30))["type"] != "session.updated":
        pass
    result = Trial(f"{first} … {second}", pause_ms)
    try:
        speaker.start()
        mark = len(speaker.events)
        turn = await speaker.turn(time.perf_counter() + 0.3, audio, voiced_ms(audio)[1], timeout)
        # the answer to the first turn has come; a later turn (the rest of a cut command) may still be under way
        end = turn.end_of_voice + SETTLE_S
        while time.perf_counter() < end or unanswered(speaker, mark):
            if time.perf_counter() > turn.end_of_voice + timeout or speaker.closed is not None:
                break
            speaker.changed.clear()
            try:
                await asyncio.wait_for(speaker.changed.wait(), max(0.05, end - time.perf_counter()))
            except TimeoutError:
                pass
        events = [(when, event) for when, event in speaker.events[mark:]]
        committed = [event["item_id"] for _, event in events if event["type"] == "input_audio_buffer.committed"]
        result.turns = len(committed)
        result.transcripts = [event["transcript"] for _, event in events
                              if event["type"] == "conversation.item.input_audio_transcription.completed"]
        result.latency = last_answer(events, committed, turn.end_of_voice)
    finally:
        await speaker.stop()
    return result


def ms_bytes(ms: int) -> int:
    """Where ``ms`` falls in mono PCM16 at 24 kHz."""
    return ms * 48


def unanswered(speaker: Speaker, mark: int) -> bool:
    """A committed turn whose response has not ended yet."""
    events = [event for _, event in speaker.events[mark:]]
    committed = sum(event["type"] == "input_audio_buffer.committed" for event in events)
    done = sum(event["type"] == "response.done" for event in events)
    return int(done) < int(committed)


def last_answer(events: list[tuple[float, dict[str, object]]], committed: list[str],
                end_of_voice: float) -> float | None:
    """End of voice → the first audio of the response that answered the last committed turn."""
    if not committed:
        return None
    created_after = next((i for i, (_, event) in enumerate(events) if event.get("item_id") == committed[-1]), None)
    if created_after is None:
        return None
    responses: set[object] = set()
    for when, event in events[created_after:]:
        if event["type"] == "response.created":
            response = event["response"]
            assert isinstance(response, dict)
            responses.add(response["id"])
        elif event["type"] == "response.output_audio.delta" and event.get("response_id") in responses:
            return when - end_of_voice
    return None


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "-"


def table(results: dict[tuple[str, int], list[Trial]], refused: int) -> str:
    lines = ["| mode | pause inside | trials | cut at the pause | of them, hard cases | end of voice → first audio "
             "p50 / p95 (not cut) | p50 vs one breath |", "|---|---|---|---|---|---|---|"]
    baseline: dict[str, float] = {}
    for (vad, pause), trials in results.items():
        cut = sum(t.turns > 1 for t in trials)
        hard = sum(t.turns > 1 and t.command.split(" … ")[0] in HARD for t in trials)
        heard = [t.latency for t in trials if t.turns == 1 and t.latency is not None]
        if heard:
            p50, p95 = stats(heard)
            if pause == 0:
                baseline[vad] = p50
            ratio = f"{p50 / baseline[vad]:.2f}×" if vad in baseline else "-"
            timing = f"{p50 * 1000:.0f} / {p95 * 1000:.0f} ms"
        else:
            timing, ratio = "-", "-"
        lines.append(f"| {vad} | {pause} ms | {len(trials)} | {cut} ({percent(cut, len(trials))}) | {hard} "
                     f"| {timing} | {ratio} |")
    if refused:
        lines.append(f"\n{refused} trial(s) could not open a session")
    return "\n".join(lines)


async def main(pauses: list[int], vads: list[str], repeat: int, timeout: float) -> None:
    cores = len(os.sched_getaffinity(0))
    print(f"{cores} core(s), load {loadavg()} at the start, {time.strftime('%Y-%m-%d %H:%M %Z')}", flush=True)
    server = Server("on", None)
    results: dict[tuple[str, int], list[Trial]] = {}
    refused = 0
    try:
        await server.start()
        for vad in vads:
            await trial(server.port, vad, *COMMANDS[0], 0, timeout)  # warm-up, not counted
            for pause in pauses:
                for _ in range(repeat):
                    for first, second in COMMANDS:
                        outcome = await trial(server.port, vad, first, second, pause, timeout)
                        if isinstance(outcome, str):
                            refused += 1
                            continue
                        results.setdefault((vad, pause), []).append(outcome)
                        latency = "-" if outcome.latency is None else f"{outcome.latency * 1000:.0f} ms"
                        print(f"  {vad} {pause} ms: {outcome.command}: {outcome.turns} turn(s) "
                              f"{outcome.transcripts} {latency}", flush=True)
    finally:
        await server.stop()
    print(f"\n{len(COMMANDS)} commands x {repeat}, {cores} core(s), load {loadavg()} at the end\n")
    print(table(results, refused))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pauses", default="0,300,450,600", help="ms of silence inside the command, comma-separated")
    parser.add_argument("--vad", default="semantic_vad,server_vad", help="turn-detection modes, comma-separated")
    parser.add_argument("--repeat", type=int, default=1, help="times each command is said at each pause")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds after the end of voice a turn may take")
    args = parser.parse_args()
    asyncio.run(main([int(p) for p in args.pauses.split(",")], args.vad.split(","), args.repeat, args.timeout))
