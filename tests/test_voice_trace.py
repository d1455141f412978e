"""The per-stage trace of voice turns: what a turn's stages are, measured from ``speech_stopped``, and that a
real spoken turn through the server and the real engines reports each of them to an observer."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator

import pytest
from openai import AsyncOpenAI

from ovos_realtime_plugin.server.voice_trace import VoiceTrace, add_stage_observer, remove_stage_observer
from tests.fixtures_server import API_KEY, Running
from tests.fixtures_speech import silence, spoken
from tests.sdk_helpers import collect
from tests.voice_helpers import open_voice_session


@pytest.fixture
def observed() -> Iterator[list[tuple[str, float]]]:
    seen: list[tuple[str, float]] = []

    def observer(stage: str, seconds: float) -> None:
        seen.append((stage, seconds))
    add_stage_observer(observer)
    yield seen
    remove_stage_observer(observer)


def test_a_turns_stages_are_reported_from_speech_stopped_once_its_response_is_done(
        observed: list[tuple[str, float]]) -> None:
    now = [10.0]
    trace = VoiceTrace("sess_x", clock=lambda: now[0])
    script = [("input_audio_buffer.speech_started", None), ("pause", 10.2), ("stt_start", 10.2), ("stt_end", 10.4),
              ("pause", 10.5), ("stt_start", 10.5),
              ("input_audio_buffer.speech_stopped", 11.0), ("stt_end", 11.1), ("first_answer", 11.2),
              ("tts_start", 11.2), ("response.output_audio.delta", 11.3), ("response.output_audio.delta", 11.4),
              ("tts_start", 11.5)]
    for step, at in script:
        now[0] = at if at is not None else now[0]
        if "." in step:
            trace.saw({"type": step})
        else:
            trace.mark(step)
    assert observed == []  # nothing until the response is done
    trace.saw({"type": "response.done"})
    got = {stage: round(seconds, 3) for stage, seconds in observed}
    assert got == {"pause": -0.5, "stt_start": -0.5, "speech_stopped": 0.0, "stt_end": 0.1, "first_answer": 0.2,
                   "tts_start": 0.2, "first_audio": 0.3}  # the first of each from the last pause on
    observed.clear()
    trace.saw({"type": "response.done"})  # a text turn (no speech_stopped) reports nothing
    assert observed == []


async def test_a_spoken_turn_reports_every_stage(voice_server: Running, observed: list[tuple[str, float]]) -> None:
    client = AsyncOpenAI(api_key=API_KEY, base_url=voice_server.http)
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await open_voice_session(conn)
        audio = silence(300) + spoken("what time is it") + silence(1000)
        for start in range(0, len(audio), 4800):  # a microphone's pace (100 ms a chunk): the pause is found in
            await conn.input_audio_buffer.append(audio=base64.b64encode(audio[start:start + 4800]).decode())
            await asyncio.sleep(0.1)  # earlier audio than speech_stopped, as a live turn has it
        await collect(conn, "response.done")
    got = dict(reversed(observed))
    assert {"pause", "stt_start", "stt_end", "speech_stopped", "transcript", "utterance_sent", "first_answer",
            "tts_start", "tts_end", "first_audio"} <= set(got), got
    assert got["pause"] < got["speech_stopped"] == 0 < got["first_audio"]
    assert got["stt_start"] <= got["stt_end"] <= got["utterance_sent"] <= got["first_answer"]
    assert got["tts_start"] <= got["first_audio"] <= got["tts_end"]  # piper is heard while it speaks
