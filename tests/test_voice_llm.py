"""The voice path with the LLM answering: espeak-ng speech → Silero VAD → faster-whisper → no OVOS intent →
the scripted chat model (tests/fixtures_llm.py) → piper; then the user cuts the answer short and the model's
next request holds only the words heard."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from openai import AsyncOpenAI

from ovos_realtime_plugin.bus.assistant import OvosAssistantSettings
from ovos_realtime_plugin.engines.speech import LoadedSpeech
from ovos_realtime_plugin.llm.backend import ChatBackend
from ovos_realtime_plugin.llm.responders import Responders
from ovos_realtime_plugin.llm.settings import LlmSettings
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings
from tests.fixtures_intents import ToolsRealtime
from tests.fixtures_llm import MODEL, LlmRealtime, say
from tests.fixtures_server import API_KEY, Served
from tests.fixtures_speech import silence, spoken
from tests.sdk_helpers import collect, user_text
from tests.voice_helpers import first, open_voice_session, output_audio, stream_audio, words

FIRST = "The sky is blue because air scatters blue light."
SECOND = "Red light passes straight through."


@pytest.fixture
async def spoken_llm(llm: LlmRealtime, tools_realtime: ToolsRealtime,
                     speech: LoadedSpeech) -> AsyncIterator[Served]:
    backend = ChatBackend(LlmSettings(base_url=llm.chat.url, model=MODEL))
    # its own fallback skill id: the llm_stack's ovos_first server keeps its registration on the same bus
    responders = Responders(tools_realtime.bus, OvosAssistantSettings(fallback_skill_id="ovos-realtime-voice.fallback"),
                            tools_realtime.intents, backend)
    server = RealtimeServer(ServerSettings(port=0, api_keys=frozenset({API_KEY})), responders, speech=speech.engines)
    await server.start()
    yield Served(server)
    await server.stop()
    responders.close()
    await backend.close()


async def test_a_spoken_open_question_is_answered_aloud_and_a_cut_answer_is_what_was_heard(
        spoken_llm: Served, llm: LlmRealtime, speech: LoadedSpeech) -> None:
    llm.chat.script.extend([say(FIRST[:20], FIRST[20:] + " ", SECOND), say("Shall I go on?")])
    client = AsyncOpenAI(api_key=API_KEY, base_url=spoken_llm.http)
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await open_voice_session(conn)
        await stream_audio(conn, silence(400) + spoken("why is the sky blue") + silence(900), 48)
        events = await collect(conn, "response.done")
        answer = events[-1]["response"]["output"][-1]
        # the user stopped listening 30 % into the answer: inside its first, longer sentence
        heard_ms = len(output_audio(events)) // 48 * 3 // 10
        await conn.conversation.item.truncate(item_id=answer["id"], content_index=0, audio_end_ms=heard_ms)
        await collect(conn, "conversation.item.truncated")
        await conn.conversation.item.create(item=user_text("and then?"))
        await collect(conn, "conversation.item.done")
        await conn.response.create()
        await collect(conn, "response.done")
    question = first(events, "conversation.item.input_audio_transcription.completed")["transcript"]
    assert words(question) == ["why", "is", "the", "sky", "blue"]
    assert events[-1]["response"]["status"] == "completed"
    assert answer["content"][0]["transcript"] == f"{FIRST} {SECOND}"
    assert speech.stt is not None
    said = await speech.stt.transcribe(output_audio(events), 24000, "en-US")
    assert {"sky", "blue", "red", "light"} <= set(words(said)), said
    asked, after = llm.chat.requests
    assert asked["messages"][-1] == {"role": "user", "content": question}
    user, assistant, then = after["messages"][-3:]
    assert user == {"role": "user", "content": question} and then == {"role": "user", "content": "and then?"}
    assert assistant["role"] == "assistant" and FIRST.startswith(assistant["content"]), assistant
    assert 2 <= len(assistant["content"].split()) < len(FIRST.split())  # the words heard, not the whole answer
