"""Other people's Realtime clients, unchanged, against the real server with the real speech engines and OVOS skills:
pipecat's ``OpenAIRealtimeLLMService`` in a minimal pipeline, and LiveKit Agents' ``RealtimeModel`` session driven as
``AgentSession`` drives it (both pinned in constraints-clients.txt, in their own ``.venv-clients``; the apps are
``tests/clients/<driver>.py``): a spoken and a typed "what time is it" answered aloud by the date-time skill, a
client function round trip, and a question asked over a long answer (barge-in), with no ``error`` reaching the app."""

from __future__ import annotations

from pathlib import Path

import pytest

from ovos_realtime_plugin.engines.speech import LoadedSpeech
from tests.client_helpers import check_clean, check_spoken_time, explain, run_client
from tests.fixtures_server import Served
from tests.voice_helpers import words

pytestmark = pytest.mark.parametrize("driver", ["pipecat_driver", "livekit_driver"])


async def test_a_spoken_question_is_answered_aloud(
        driver: str, voice_ovos: Served, speech: LoadedSpeech, tmp_path: Path) -> None:
    report = await run_client(driver, voice_ovos, "spoken", tmp_path)
    check_clean(report)
    assert [words(t) for t in report["transcripts"]] == [["what", "time", "is", "it"]], explain(report)
    await check_spoken_time(speech, report["answers"][0], report)


async def test_a_typed_question_is_answered_aloud(
        driver: str, voice_ovos: Served, speech: LoadedSpeech, tmp_path: Path) -> None:
    report = await run_client(driver, voice_ovos, "typed", tmp_path)
    check_clean(report)
    assert len(report["answers"]) == 1, explain(report)
    await check_spoken_time(speech, report["answers"][0], report)


async def test_a_client_function_is_called_and_its_output_spoken(
        driver: str, voice_ovos: Served, tmp_path: Path) -> None:
    report = await run_client(driver, voice_ovos, "tool", tmp_path)
    check_clean(report)
    assert report["calls"] == [{"name": "set_timer", "arguments": {"minutes": 5}}], explain(report)
    answer = report["answers"][-1]
    assert "timer is set for 5 minutes" in answer["text"].lower(), explain(report)
    assert answer["audio_ms"] > 1000, explain(report)


async def test_talking_over_an_answer_interrupts_it_and_is_answered(
        driver: str, voice_ovos: Served, speech: LoadedSpeech, tmp_path: Path) -> None:
    report = await run_client(driver, voice_ovos, "interrupt", tmp_path)
    check_clean(report)
    assert [c["name"] for c in report["calls"]] == ["tell_story"], explain(report)
    story, answer = report["answers"][0], report["answers"][-1]
    assert report["interruptions"] >= 1 and story["interrupted_at_ms"] is not None, explain(report)
    assert 1500 <= story["interrupted_at_ms"] < 10000, explain(report)  # a 20 s story, stopped early
    if driver == "livekit_driver":  # LiveKit truncates what was not heard; pipecat does not ask to
        assert "conversation.item.truncated" in report["server_events"], explain(report)
    await check_spoken_time(speech, answer, report)
