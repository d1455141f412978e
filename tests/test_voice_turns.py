"""Voice in the beta dialect, manual turns, and semantic_vad eagerness on real speech (real default engines)."""

from __future__ import annotations

from typing import Any

from openai import AsyncOpenAI

from ovos_realtime_plugin.audio.codec import encode_from_pcm16
from ovos_realtime_plugin.engines.speech import LoadedSpeech
from tests.fixtures_server import API_KEY, Running
from tests.fixtures_speech import silence, spoken, voiced_ms
from tests.sdk_helpers import collect, types
from tests.test_voice_ovos import sounds_alike
from tests.voice_helpers import first, output_audio, stream_audio, words

BETA_MODEL = "gpt-4o-realtime-preview"


def beta_client(running: Running) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=API_KEY, websocket_base_url=running.url)


def ga_client(running: Running) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=API_KEY, base_url=running.http)


async def test_beta_voice_turn_in_g711_alaw(voice_server: Running, speech: LoadedSpeech) -> None:
    pcma = encode_from_pcm16(silence(400, 8000) + spoken("play some music", 8000) + silence(900, 8000),
                             "audio/pcma")
    async with beta_client(voice_server).beta.realtime.connect(model=BETA_MODEL) as conn:
        await collect(conn, "session.created", beta=True)
        await conn.session.update(session={"input_audio_format": "g711_alaw", "output_audio_format": "g711_alaw",
                                           "input_audio_transcription": {"model": "whisper-1"}})
        updated = await collect(conn, "session.updated", beta=True)
        assert updated[-1]["session"]["input_audio_format"] == "g711_alaw"
        await stream_audio(conn, pcma, 8)
        events = await collect(conn, "response.done", beta=True)
    names = types(events)
    assert "conversation.item.created" in names and "response.audio.delta" in names
    assert "response.output_audio.delta" not in names
    heard = first(events, "conversation.item.input_audio_transcription.completed")["transcript"]
    assert words(heard)[0].startswith("play") and words(heard)[-1] == "music"  # 8 kHz espeak: close enough
    said = first(events, "response.audio_transcript.done")["transcript"]
    reply = await speech.stt.transcribe(output_audio(events, "audio/pcma", beta=True), 8000,  # type: ignore[union-attr]
                                        "en-US")
    assert "music" in words(reply) and sounds_alike(said, reply), (said, reply)  # "You set play some music" too


async def test_beta_transcription_session(voice_server: Running) -> None:
    async with beta_client(voice_server).beta.realtime.connect(
            model=BETA_MODEL, extra_query={"intent": "transcription"}) as conn:
        created = await collect(conn, "transcription_session.created", beta=True)
        assert created[-1]["session"]["input_audio_format"] == "pcm16"
        await conn.send({"type": "transcription_session.update", "session": {
            "input_audio_transcription": {"model": "gpt-4o-transcribe", "language": "en"}}})
        await collect(conn, "transcription_session.updated", beta=True)
        said = "turn on the kitchen lights please"  # tiny.en mishears some short phrases ("hello world"): not this
        await stream_audio(conn, silence(300) + spoken(said) + silence(800), 48)
        events = await collect(conn, "conversation.item.input_audio_transcription.completed", beta=True)
    assert words(events[-1]["transcript"]) == said.split()
    assert not [t for t in types(events) if t.startswith("response.")]


async def test_without_turn_detection_the_client_commits(voice_server: Running) -> None:
    async with ga_client(voice_server).realtime.connect(model="gpt-realtime") as conn:
        await collect(conn, "session.created")
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"], "audio": {
            "input": {"turn_detection": None, "transcription": {"model": "whisper-1"}}}})
        await collect(conn, "session.updated")
        await stream_audio(conn, silence(300) + spoken("good morning") + silence(300), 48)
        await conn.input_audio_buffer.commit(event_id="evt_commit")
        committed = await collect(conn, "conversation.item.input_audio_transcription.completed")
        await conn.response.create()
        events = await collect(conn, "response.done")
    assert "input_audio_buffer.speech_started" not in types(committed)
    assert words(committed[-1]["transcript"]) == ["good", "morning"]
    assert words(events[-1]["response"]["output"][0]["content"][0]["text"]) == ["you", "said", "good", "morning"]


async def user_turns(running: Running, eagerness: str, audio: bytes, last_voice_ms: int) -> list[str]:
    """The transcripts of the user turns semantic_vad cut ``audio`` into (its voice ends at ``last_voice_ms``)."""
    async with ga_client(running).realtime.connect(model="gpt-realtime") as conn:
        await collect(conn, "session.created")
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"], "audio": {"input": {
            "transcription": {"model": "whisper-1"},
            "turn_detection": {"type": "semantic_vad", "eagerness": eagerness, "create_response": False}}}})
        await collect(conn, "session.updated")
        await stream_audio(conn, audio, 48)
        events: list[dict[str, Any]] = []
        while not events or events[-1]["audio_end_ms"] < last_voice_ms - 100:  # until the last turn ended
            events += [e for e in await collect(conn, "input_audio_buffer.speech_stopped")]
            events = [e for e in events if e["type"] == "input_audio_buffer.speech_stopped"]
        turns = {e["item_id"] for e in events}
        transcripts: dict[str, str] = {}
        while len(transcripts) < len(turns):
            done = (await collect(conn, "conversation.item.input_audio_transcription.completed"))[-1]
            transcripts[done["item_id"]] = done["transcript"]
    return [" ".join(words(transcripts[e["item_id"]])) for e in events]


async def test_semantic_vad_eagerness_decides_whether_a_pause_ends_the_turn(voice_server: Running) -> None:
    # the first words read as unfinished, so the outcome holds whenever the early transcript arrives:
    # it can only lengthen a pause's window (high: 250 → 500 ms), never shorten it
    head = silence(300) + spoken("turn on the") + silence(300)  # with espeak-ng's own tail: a ~650 ms pause
    tail = spoken("kitchen lights")
    audio = head + tail + silence(1800)
    last_voice_ms = (len(head) + voiced_ms(tail)[1] * 48) // 48
    eager = await user_turns(voice_server, "high", audio, last_voice_ms)  # 250 ms pauses end a turn
    assert len(eager) == 2 and eager[0].startswith("turn on") and eager[1].endswith("lights"), eager
    patient = await user_turns(voice_server, "low", audio, last_voice_ms)  # 1200 ms
    assert len(patient) == 1 and patient[0].startswith("turn on the") and patient[0].endswith("lights"), patient
