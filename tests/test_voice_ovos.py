"""The whole voice path with real parts: espeak-ng speech → Silero VAD → faster-whisper → the real date-time
skill on the real bus → piper → audio that faster-whisper hears as a time."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from difflib import SequenceMatcher

import pytest
from openai import AsyncOpenAI

from ovos_realtime_plugin.bus.assistant import OvosAssistantSettings, assistant_factory
from ovos_realtime_plugin.bus.client import BusConnection
from ovos_realtime_plugin.engines.speech import LoadedSpeech
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings
from tests.fixtures_ovos import TIME_LIKE, OvosStack
from tests.fixtures_server import API_KEY, Served
from tests.fixtures_speech import silence, spoken
from tests.sdk_helpers import collect
from tests.voice_helpers import first, open_voice_session, output_audio, stream_audio, words

UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
         "seventeen eighteen nineteen").split()
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50}


def sounds_alike(said: str, heard: str) -> bool:
    """Whisper tiny.en on a short phrase alone: "quarter past five" may come back as "Order passed by."
    (0.50 alike); unrelated speech scores below 0.4 ("twelve oh four" / "the weather is nice": 0.36)."""
    return SequenceMatcher(None, " ".join(words(said)), " ".join(words(heard))).ratio() >= 0.45


async def heard_from_piper(speech: LoadedSpeech, text: str) -> str:
    """What Whisper tiny.en hears when the local piper voice says ``text``: the reference for times it mishears
    as piper says them ("ten oh eight": "and no eight.", "and no A.", "NOA", in any window)."""
    assert speech.stt is not None and speech.tts is not None
    return await speech.stt.transcribe(*await speech.tts.synthesize(text, None, 1.0, "en-US"), "en-US")


def clock_numbers(text: str) -> set[int]:
    """The hour and minute numbers in a spoken or transcribed time: "eleven fifty five", "11:55", "1155" and
    Whisper's occasional "... in 55." all give {11, 55} or part of it; "quarter to four" gives {3, 45}."""
    numbers: set[int] = set()
    to_hour = re.search(r"quarter to (\w+)", text.lower())
    if to_hour and to_hour[1] in UNITS:
        numbers.update({UNITS.index(to_hour[1]) - 1 or 12, 45})
    numbers.update(minutes for phrase, minutes in (("quarter past", 15), ("half past", 30)) if phrase in text.lower())
    tens = 0
    for token in re.findall(r"[a-z]+|\d+", text.lower()):
        if token.isdigit():
            numbers.update({int(token[:-2]), int(token[-2:])} if len(token) > 2 else {int(token)})
        elif token in TENS:
            tens = TENS[token]
            numbers.add(tens)
            continue
        elif token in UNITS and tens and UNITS.index(token) < 10:
            numbers.discard(tens)
            numbers.add(tens + UNITS.index(token))
        elif token in UNITS:
            numbers.add(UNITS.index(token))
        tens = 0
    return numbers


@pytest.fixture
async def spoken_ovos(ovos_stack: OvosStack, speech: LoadedSpeech) -> AsyncIterator[Served]:
    bus = BusConnection(port=ovos_stack.port, source="ovos-realtime-voice")
    await bus.connect()
    server = RealtimeServer(ServerSettings(port=0, api_keys=frozenset({API_KEY})),
                            assistant_factory(bus, OvosAssistantSettings()), speech=speech.engines)
    await server.start()
    yield Served(server)
    await server.stop()
    await bus.close()


async def test_a_spoken_question_is_answered_aloud_by_the_date_time_skill(spoken_ovos: Served,
                                                                         speech: LoadedSpeech) -> None:
    client = AsyncOpenAI(api_key=API_KEY, base_url=spoken_ovos.http)
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await open_voice_session(conn)
        await stream_audio(conn, silence(400) + spoken("what time is it") + silence(900), 48)
        events = await collect(conn, "response.done")
    assert words(first(events, "conversation.item.input_audio_transcription.completed")["transcript"]) == [
        "what", "time", "is", "it"]
    done = events[-1]["response"]
    assert done["status"] == "completed"
    said = done["output"][-1]["content"][0]["transcript"]
    assert TIME_LIKE.search(said), said
    assert speech.stt is not None
    heard = await speech.stt.transcribe(output_audio(events), 24000, "en-US")
    assert clock_numbers(said) & clock_numbers(heard) - {0} or sounds_alike(said, heard) or \
        sounds_alike(await heard_from_piper(speech, said), heard), (said, heard)
