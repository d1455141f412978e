"""An odd number of PCM16 bytes (half a sample at the end) is transcribed and answered, never left hanging."""

from __future__ import annotations

import base64

from websockets.asyncio.client import connect

from ovos_realtime_plugin.engines.speech import LoadedSpeech
from tests.fixtures_server import Running
from tests.fixtures_speech import spoken
from tests.test_errors import AUTH, Raw, ws_url


async def test_an_odd_length_append_is_committed_transcribed_and_answered(voice_server: Running,
                                                                          speech: LoadedSpeech) -> None:
    audio = spoken("hello there")
    audio = audio[:len(audio) // 2 * 2] + b"\x01"
    async with connect(ws_url(voice_server), additional_headers=AUTH, max_size=None) as ws:
        raw = Raw(ws)
        await raw.until("session.created")
        await raw.send({"type": "session.update", "session": {
            "type": "realtime", "output_modalities": ["text"],
            "audio": {"input": {"turn_detection": None, "transcription": {"model": "whisper-1"}}}}})
        await raw.until("session.updated")
        await raw.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(audio).decode()})
        await raw.send({"type": "input_audio_buffer.commit"})
        await raw.send({"type": "response.create"})
        events = await raw.until("response.done")
        transcripts = [e for e in events if e["type"].startswith("conversation.item.input_audio_transcription.")]
        assert transcripts[-1]["type"] == "conversation.item.input_audio_transcription.completed"
        assert speech.stt is not None  # the torn last byte dropped, the rest transcribed as the engine hears it
        assert transcripts[-1]["transcript"] == (await speech.stt.transcribe(audio[:-1], 24000, "en-US")).strip()
        assert transcripts[-1]["transcript"]
        assert events[-1]["response"]["status"] == "completed"
