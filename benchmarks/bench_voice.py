"""A spoken question answered by a real skill, on the standalone daemon's wiring, against its own engines' cost.

The daemon runs as ``ovos-realtime --standalone`` does (embedded bus, ovos-core's skills service with the
installed skills, the default offline engines), in this process so that the per-stage trace can be read. Each
round, in one run and alternating:

- **STT alone**: the engine called directly on the spoken utterance ("what time is it", espeak-ng);
- **skill + TTS alone**: the same words typed, ``response.create`` → first audio delta (the real date-time
  skill answers, piper speaks);
- **spoken, ``server_vad`` 500 ms** and **spoken, ``semantic_vad`` auto**: the utterance streamed at a mic's
  pace in 100 ms appends (the silence before it varies by round, so that where the speech ends within an append
  varies too); ``speech_stopped`` → first audio delta, and end of the user's speech → first audio delta.

Printed: medians (and p95), the ratio of ``speech_stopped`` → first audio to STT alone + skill & TTS alone
(target ≤ 0.40), the stage breakdown of the spoken turns (ms after ``speech_stopped``), and ingest speed
(audio appended as fast as the socket takes it, VAD on, no STT). Run it on one core too: ``taskset -c 0 python -m ...``.

With ``--stt NAME`` the daemon uses that STT plugin; ``--compare-stt NAME`` times another STT plugin alone on
the same utterance each round (Moonshine beside Whisper tiny.en: ``--compare-stt
ovos-stt-plugin-moonshine-base-en``, or the other way round).

With ``--vad NAME`` only that mode is spoken (its stages alone in the breakdown).

    python -m benchmarks.bench_voice [--turns 10] [--no-ingest] [--stt NAME] [--compare-stt NAME] [--vad NAME]
                                     [--trace]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from websockets.asyncio.client import ClientConnection

from benchmarks.voice_client import CHUNK_MS, open_session, send_audio, stats, text_turn, until
from ovos_realtime_plugin.daemon import Daemon
from ovos_realtime_plugin.daemon_settings import daemon_settings
from ovos_realtime_plugin.engines.choice import STT_DEFAULT, speech_choices
from ovos_realtime_plugin.engines.speech import LoadedSpeech, shipped_config, speech_from_config
from ovos_realtime_plugin.engines.stt import PluginTranscriber
from ovos_realtime_plugin.engines.stt_pool import TranscriberPool
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings
from ovos_realtime_plugin.server.speech_engines import SpeechEngines
from ovos_realtime_plugin.server.voice_trace import add_stage_observer
from tests.fixtures_ovos import CACHE_DIR
from tests.fixtures_speech import silence, spoken, voiced_ms

QUESTION = "what time is it"
WARM_UP = 2
VADS: dict[str, dict[str, object]] = {"server_vad": {"type": "server_vad", "silence_duration_ms": 500},
                                      "semantic_vad": {"type": "semantic_vad", "eagerness": "auto"}}
TRACED = ("pause", "stt_start", "stt_end", "stt_dropped", "answer_prepared", "tts_prepare", "speech_stopped",
          "transcript", "utterance_sent", "first_answer", "tts_start", "tts_end", "first_audio")


async def voice_turn(ws: ClientConnection, utterance: bytes, speech_end_ms: int) -> tuple[float, float]:
    """One spoken turn: (speech_stopped → first audio, end of speech → first audio), in seconds."""
    seen: dict[str, float] = {}
    sender = asyncio.create_task(send_audio(ws, utterance, paced=True))
    await until(ws, "response.done", seen)
    origin = await sender
    first = seen["response.output_audio.delta"]
    return first - seen["input_audio_buffer.speech_stopped"], first - (origin + speech_end_ms / 1000)


async def stt_alone(stt: PluginTranscriber | TranscriberPool | None, words: bytes) -> float:
    assert stt is not None
    start = time.perf_counter()
    await stt.transcribe(words, 24000, "en-US")
    return time.perf_counter() - start


async def rounds(port: int, speech: LoadedSpeech, turns: int, other: PluginTranscriber | None,
                 vads: dict[str, dict[str, object]]) -> dict[str, list[float]]:
    words = spoken(QUESTION)
    sessions = {"text": await open_session(port, {"output_modalities": ["audio"]})}
    for name, detection in vads.items():
        sessions[name] = await open_session(port, {"output_modalities": ["audio"],
                                                   "audio": {"input": {"turn_detection": detection}}})
    results: dict[str, list[float]] = defaultdict(list)
    for n in range(turns + WARM_UP):
        lead = 300 + n * 37 % CHUNK_MS  # where the speech ends within the client's 100 ms appends varies
        utterance, speech_end_ms = silence(lead) + words + silence(1500), lead + voiced_ms(words)[1]
        sample = {"stt alone": await stt_alone(speech.stt, words),
                  "skill + TTS alone (typed)": await text_turn(sessions["text"], QUESTION)}
        for name in vads:
            try:
                stopped, ended = await voice_turn(sessions[name], utterance, speech_end_ms)
            except RuntimeError as exc:
                raise RuntimeError(f"{name}, speech after {lead} ms of silence: {exc}") from exc
            sample[f"{name}: speech_stopped -> first audio"] = stopped
            sample[f"{name}: end of speech -> first audio"] = ended
        if other is not None:
            sample[f"{other.module} alone"] = await stt_alone(other, words)
        if n >= WARM_UP:
            for key, value in sample.items():
                results[key].append(value)
    for ws in sessions.values():
        await ws.close()
    return results


async def ingest_rate(daemon: Daemon) -> tuple[float, float]:
    """Audio seconds per wall second, appended as fast as the socket takes it, VAD on, no answers: a server of
    its own with the daemon's VAD and no STT, so that the turns' transcriptions do not share the cores."""
    assert daemon.loaded_speech is not None and daemon.responders is not None
    engines = SpeechEngines(new_vad=daemon.loaded_speech.engines.new_vad)
    server = RealtimeServer(ServerSettings(port=0), daemon.responders, speech=engines)
    await server.start()
    try:
        return await ingest_on(server.port)
    finally:
        await server.stop()


async def ingest_on(port: int) -> tuple[float, float]:
    """(× real time by the wall clock, × real time per core of this process's CPU), the client in its own
    process (``benchmarks.ingest_client``) so that only the server's work is counted as the server's."""
    client = await asyncio.create_subprocess_exec(sys.executable, "-m", "benchmarks.ingest_client", str(port),
                                                  stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert client.stdin is not None and client.stdout is not None
    try:
        if not (await client.stdout.readline()).startswith(b"ready"):
            raise RuntimeError("the ingest client did not start")
        cpu = time.process_time()
        client.stdin.write(b"go\n")
        await client.stdin.drain()
        done = (await asyncio.wait_for(client.stdout.readline(), 120)).split()
        cpu = time.process_time() - cpu
    finally:
        if client.returncode is None:
            client.kill()
        await client.wait()
    if not done or done[0] != b"done":
        raise RuntimeError("the ingest client failed")
    audio_s, wall_s = float(done[1]), float(done[2])
    return audio_s / wall_s, audio_s / cpu


def report(results: dict[str, list[float]], stages: dict[str, list[float]], ingest: tuple[float, float] | None) -> None:
    cores = len(os.sched_getaffinity(0))
    print(f"\n'{QUESTION}' answered by the date-time skill, {len(results['stt alone'])} rounds, {cores} core(s)")
    for key, values in results.items():
        p50, p95 = stats(values)
        print(f"  {key:<44} p50 {p50 * 1000:6.0f} ms   p95 {p95 * 1000:6.0f} ms")
    floor = stats(results["stt alone"])[0] + stats(results["skill + TTS alone (typed)"])[0]
    for name in VADS:
        if f"{name}: speech_stopped -> first audio" not in results:
            continue
        p50 = stats(results[f"{name}: speech_stopped -> first audio"])[0]
        print(f"  {name}: speech_stopped -> first audio / (STT alone + skill & TTS alone) = {p50 / floor:.2f}")
    print("stage medians, ms after speech_stopped (the VAD modes above):")
    for stage in TRACED:
        if stages.get(stage):
            print(f"  {stage:<16} {stats(stages[stage])[0] * 1000:+6.0f}   (n={len(stages[stage])})")
    if ingest is not None:
        print(f"ingest with VAD: {ingest[0]:.0f}x real time by the wall clock (the client in its own process); "
              f"the server's CPU: {ingest[1]:.0f}x real time per core")


async def main(turns: int, ingest: bool, stt: str | None, compare: str | None, vad: str | None) -> None:
    stages: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        conf = {"realtime": {"standalone": {"state_dir": str(Path(tmp) / "skills"),
                                            "data_dir": str(CACHE_DIR / "data")}}}
        settings = daemon_settings(conf, standalone=True, port=0)
        daemon = Daemon(settings, load_speech=lambda: speech_from_config(conf, stt=stt))
        named = None if compare == STT_DEFAULT else compare  # the default comes with its offline model
        choice = speech_choices({}, shipped_config(), stt=named).stt if compare else None
        other = PluginTranscriber.load(choice, "en-US") if choice else None
        try:
            await daemon.start()
            assert daemon.server is not None and daemon.loaded_speech is not None
            add_stage_observer(lambda stage, seconds: stages[stage].append(seconds))
            print(f"STT: {daemon.loaded_speech.stt.module if daemon.loaded_speech.stt else 'none'}")
            vads = {name: detection for name, detection in VADS.items() if vad in (None, name)}
            results = await rounds(daemon.server.port, daemon.loaded_speech, turns, other, vads)
            rate = await ingest_rate(daemon) if ingest else None
        finally:
            await daemon.stop()
            if other is not None:
                other.close()
    report(results, stages, rate)
    print(json.dumps({k: [round(v * 1000) for v in vs] for k, vs in results.items()}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--no-ingest", action="store_true")
    parser.add_argument("--stt", help="the daemon's STT plugin (default: the offline default, Whisper tiny.en)")
    parser.add_argument("--compare-stt", help="another STT plugin timed alone on the same utterance")
    parser.add_argument("--vad", choices=sorted(VADS), help="speak in this turn-detection mode only")
    parser.add_argument("--trace", action="store_true", help="log every voice turn's stages (debug)")
    args = parser.parse_args()
    if args.trace:
        logging.basicConfig(format="%(asctime)s %(message)s")
        logging.getLogger("ovos_realtime_plugin.server.voice_trace").setLevel(logging.DEBUG)
    asyncio.run(main(args.turns, not args.no_ingest, args.stt, args.compare_stt, args.vad))
