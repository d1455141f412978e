"""The ingest benchmark's client, in a process of its own so that its work (JSON, base64, the socket) does not
count as the server's: one session with server VAD (no responses), a minute of speech and pauses appended as fast
as the socket takes it once a line arrives on stdin. Prints ``ready``, then ``done <audio seconds> <wall seconds>``.

    python -m benchmarks.ingest_client PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from benchmarks.voice_client import BYTES_PER_MS, open_session, send_audio
from tests.fixtures_speech import silence, spoken


async def main(port: int) -> None:
    pattern = spoken("turn on the kitchen lights and play some music") + silence(700)
    audio = pattern * (60_000 // (len(pattern) // BYTES_PER_MS) + 1)
    ws = await open_session(port, {"output_modalities": ["text"], "audio": {"input": {"turn_detection": {
        "type": "server_vad", "create_response": False}}}})
    turns = len(audio) // len(pattern)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    start = time.perf_counter()
    sender = asyncio.create_task(send_audio(ws, audio, paced=False))
    stopped = 0
    while stopped < turns:  # each committed turn also reports its failed transcription (no STT here): ignored
        event = json.loads(await asyncio.wait_for(ws.recv(), 60))
        stopped += event["type"] == "input_audio_buffer.speech_stopped"
    await sender
    print("done", len(audio) / BYTES_PER_MS / 1000, time.perf_counter() - start, flush=True)
    await ws.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
