"""An STT plugin that hangs fails that transcript within a bounded time, and the session's next turn is
transcribed: the engine moves to a fresh thread and leaves the stuck call behind."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from typing import Any

from openai import AsyncOpenAI

from ovos_realtime_plugin.engines.stt import PluginTranscriber
from ovos_realtime_plugin.engines.worker import EngineThread
from ovos_realtime_plugin.server.speech_driver import SpeechEngines
from tests.fixtures_server import API_KEY, start_server
from tests.fixtures_speech import silence
from tests.sdk_helpers import collect


class HangsOnce:
    """An OPM-style STT plugin whose first call never returns (until released), later calls answer."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def execute(self, audio: Any, language: str | None = None) -> str:
        self.calls += 1
        if self.calls == 1:
            self.release.wait(60)
            return "too late"
        return "second turn"


async def transcription_outcome(conn: Any) -> dict[str, Any]:
    while True:
        event = json.loads(await asyncio.wait_for(conn.recv_bytes(), 30))
        if event["type"].endswith((".input_audio_transcription.failed", ".input_audio_transcription.completed")):
            return dict(event)


async def test_a_hanging_stt_fails_that_transcript_and_the_next_turn_goes_on() -> None:
    plugin = HangsOnce()
    stt = PluginTranscriber(plugin, "hangs-once", EngineThread("stt-test"))
    stt.timeout_s = 2.0
    import ovos_plugin_manager.utils.audio  # noqa: F401  # imported before the clock runs (the wrapper imports it)
    running = await start_server(speech=SpeechEngines(stt=stt))
    try:
        client = AsyncOpenAI(api_key=API_KEY, base_url=running.http)
        async with client.realtime.connect(model="gpt-realtime") as conn:
            await collect(conn, "session.created")
            await conn.session.update(session={"type": "realtime", "output_modalities": ["text"], "audio": {
                "input": {"turn_detection": None, "transcription": {"model": "whisper-1"}}}})
            await collect(conn, "session.updated")
            outcomes = []
            for _ in range(2):
                await conn.input_audio_buffer.append(audio=base64.b64encode(silence(500)).decode())
                await conn.input_audio_buffer.commit()
                outcomes.append(await transcription_outcome(conn))
        failed, completed = outcomes
        assert failed["type"].endswith(".failed")
        assert "did not answer within 2 s" in failed["error"]["message"]
        assert completed["type"].endswith(".completed") and completed["transcript"] == "second turn"
    finally:
        plugin.release.set()
        await running.server.stop()
        stt.close()
