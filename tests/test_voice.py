"""Voice through the real server and the real default OPM engines, driven by the official SDK on real speech."""

from __future__ import annotations

from typing import Any

from openai import AsyncOpenAI

from ovos_realtime_plugin.audio.codec import encode_from_pcm16
from ovos_realtime_plugin.engines.speech import LoadedSpeech
from tests.fixtures_server import API_KEY, Running
from tests.fixtures_speech import silence, spoken, voiced_ms
from tests.sdk_helpers import collect, types, user_text
from tests.test_voice_ovos import sounds_alike
from tests.voice_helpers import first, output_audio, response_failure, stream_audio, words

VOICE_SESSION: dict[str, Any] = {
    "type": "realtime", "output_modalities": ["audio"],
    "audio": {"input": {"transcription": {"model": "whisper-1"}}},
}


def client(running: Running) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=API_KEY, base_url=running.http)


async def transcribe(speech: LoadedSpeech, pcm: bytes, rate: int) -> list[str]:
    assert speech.stt is not None
    return words(await speech.stt.transcribe(pcm, rate, "en-US"))


async def test_a_spoken_turn_is_detected_transcribed_and_answered_aloud(voice_server: Running,
                                                                       speech: LoadedSpeech) -> None:
    utterance = spoken("what time is it")
    async with client(voice_server).realtime.connect(model="gpt-realtime") as conn:
        await collect(conn, "session.created")
        await conn.session.update(session=VOICE_SESSION)
        await collect(conn, "session.updated")
        await stream_audio(conn, silence(600) + utterance + silence(1000), 48)
        events = await collect(conn, "response.done")
    started, stopped = first(events, "input_audio_buffer.speech_started"), first(
        events, "input_audio_buffer.speech_stopped")
    voice_start, voice_end = (600 + ms for ms in voiced_ms(utterance))
    # the start is reported prefix_padding_ms (300) before the voice; VAD frames are 32 ms
    assert voice_start - 300 - 100 <= started["audio_start_ms"] <= voice_start - 300 + 100, started
    assert voice_end - 100 <= stopped["audio_end_ms"] <= voice_end + 150, (voice_end, stopped)
    assert stopped["item_id"] == started["item_id"] == first(events, "input_audio_buffer.committed")["item_id"]
    transcript = first(events, "conversation.item.input_audio_transcription.completed")
    assert words(transcript["transcript"]) == ["what", "time", "is", "it"]
    assert transcript["usage"]["type"] == "duration" and transcript["usage"]["seconds"] > 1
    done = events[-1]["response"]
    assert done["status"] == "completed"
    said = done["output"][0]["content"][0]["transcript"]
    assert words(said) == ["you", "said", "what", "time", "is", "it"]
    heard = await transcribe(speech, output_audio(events), 24000)
    assert {"said", "time"} <= set(heard), heard
    order = types(events)
    assert order.index("response.output_audio_transcript.delta") < order.index("response.output_audio.delta")
    assert order.index("response.output_audio.done") < order.index("response.done")


async def test_g711_ulaw_at_8khz_in_and_out(voice_server: Running, speech: LoadedSpeech) -> None:
    # "hello world" on the line is heard right in 4 of 12 cuts of it (VAD boundaries, turn end or early transcript:
    # "The Long World"); "turn on the kitchen lights" in 12 of 12
    pcmu = encode_from_pcm16(silence(500, 8000) + spoken("turn on the kitchen lights", 8000) + silence(1000, 8000),
                             "audio/pcmu")
    session = {**VOICE_SESSION, "audio": {"input": {"format": {"type": "audio/pcmu"},
                                                    "transcription": {"model": "whisper-1"}},
                                          "output": {"format": {"type": "audio/pcmu"}}}}
    async with client(voice_server).realtime.connect(model="gpt-realtime") as conn:
        await collect(conn, "session.created")
        await conn.session.update(session=session)
        await collect(conn, "session.updated")
        await stream_audio(conn, pcmu, 8)
        events = await collect(conn, "response.done")
    assert words(first(events, "conversation.item.input_audio_transcription.completed")["transcript"]) == [
        "turn", "on", "the", "kitchen", "lights"]
    said = first(events, "response.output_audio_transcript.done")["transcript"]
    reply = " ".join(await transcribe(speech, output_audio(events, "audio/pcmu"), 8000))
    assert "kitchen" in reply.split() and sounds_alike(said, reply), (said, reply)  # as the a-law test


async def test_speech_during_a_response_cancels_it_and_drops_its_audio(voice_server: Running) -> None:
    session = {**VOICE_SESSION, "audio": {"input": {"turn_detection": {"type": "server_vad",
                                                                       "create_response": False}}}}
    async with client(voice_server).realtime.connect(model="gpt-realtime") as conn:
        await collect(conn, "session.created")
        await conn.session.update(session=session)
        await collect(conn, "session.updated")
        assistant = voice_server.assistants[-1]
        await conn.conversation.item.create(item=user_text("slow please"))
        await collect(conn, "conversation.item.done")
        await conn.response.create()
        assistant.gate.put_nowait(None)  # "This is part one." is spoken; the assistant then waits
        playing = await collect(conn, "response.output_audio.delta")
        await stream_audio(conn, silence(300) + spoken("stop"), 48)
        events = await collect(conn, "response.done")
        await conn.input_audio_buffer.clear()
        after = await collect(conn, "input_audio_buffer.cleared")
    response_id = playing[-1]["response_id"]
    assert "input_audio_buffer.speech_started" in types(events)
    done = events[-1]["response"]
    assert done["id"] == response_id and done["status"] == "cancelled"
    assert done["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    assert assistant.cancelled.is_set()
    assert not [e for e in after if e["type"].startswith("response.")], types(after)


async def test_truncate_cuts_the_spoken_item_to_what_was_heard(voice_server: Running) -> None:
    async with client(voice_server).realtime.connect(model="gpt-realtime") as conn:
        await collect(conn, "session.created")
        await conn.session.update(session={**VOICE_SESSION, "audio": {"input": {"turn_detection": None}}})
        await collect(conn, "session.updated")
        await conn.conversation.item.create(item=user_text("the quick brown fox jumps over the lazy dog. "
                                                            "Then it runs far away into the forest"))
        await collect(conn, "conversation.item.done")
        await conn.response.create()
        events = await collect(conn, "response.done")
        item = events[-1]["response"]["output"][0]
        full = item["content"][0]["transcript"]
        total_ms = len(output_audio(events)) * 1000 // 2 // 24000
        await conn.conversation.item.retrieve(item_id=item["id"])
        whole = await collect(conn, "conversation.item.retrieved")
        cut_ms = total_ms // 2
        await conn.conversation.item.truncate(item_id=item["id"], content_index=0, audio_end_ms=cut_ms)
        truncated = await collect(conn, "conversation.item.truncated")
        await conn.conversation.item.retrieve(item_id=item["id"])
        retrieved = await collect(conn, "conversation.item.retrieved")
        await conn.conversation.item.truncate(item_id=item["id"], content_index=0, audio_end_ms=total_ms,
                                              event_id="evt_too_far")
        error = await collect(conn, "error")
    assert len(whole[-1]["item"]["content"][0]["audio"]) > 0
    assert truncated[-1]["audio_end_ms"] == cut_ms
    part = retrieved[-1]["item"]["content"][0]
    assert full.startswith(part["transcript"]) and 0 < len(part["transcript"]) < len(full)
    import base64

    assert len(base64.b64decode(part["audio"])) == cut_ms * 48
    assert error[-1]["error"]["param"] == "audio_end_ms" and error[-1]["error"]["event_id"] == "evt_too_far"


async def test_transcription_only_session(voice_server: Running) -> None:
    async with client(voice_server).realtime.connect(model="gpt-realtime",
                                                     extra_query={"intent": "transcription"}) as conn:
        created = await collect(conn, "session.created")
        assert created[-1]["session"]["type"] == "transcription"
        await conn.session.update(session={"type": "transcription", "audio": {"input": {
            "transcription": {"model": "gpt-4o-transcribe", "language": "en"}}}})
        await collect(conn, "session.updated")
        await stream_audio(conn, silence(300) + spoken("turn on the kitchen lights") + silence(800), 48)
        events = await collect(conn, "conversation.item.input_audio_transcription.completed")
    deltas = "".join(e["delta"] for e in events if e["type"] == "conversation.item.input_audio_transcription.delta")
    completed = events[-1]
    assert words(completed["transcript"]) == ["turn", "on", "the", "kitchen", "lights"]
    assert deltas == completed["transcript"]
    assert not [t for t in types(events) if t.startswith("response.")]


async def test_a_failing_tts_voice_reports_an_error_and_the_session_goes_on(voice_server: Running) -> None:
    async with client(voice_server).realtime.connect(model="gpt-realtime") as conn:
        await collect(conn, "session.created")
        await conn.session.update(session={**VOICE_SESSION, "audio": {"output": {"voice": "broken"}}})
        await collect(conn, "session.updated")
        await conn.conversation.item.create(item=user_text("hello"))
        await collect(conn, "conversation.item.done")
        await conn.response.create()
        failed = await collect(conn, "response.done")
        await conn.response.create(response={"audio": {"output": {"voice": "alloy"}}})
        recovered = await collect(conn, "response.done")
    error = response_failure(failed)
    assert error["type"] == "server_error" and error["code"] == "speech_synthesis_failed"
    assert "response.output_audio.delta" not in types(failed)
    assert recovered[-1]["response"]["status"] == "completed"
    assert len(output_audio(recovered)) > 24000  # more than half a second spoken
