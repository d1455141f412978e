"""A session's ``transcription.model`` picks the STT plugin mycroft.conf maps it to (``"transcription_models"``);
an unknown name gets the default. Two real engines, loaded once at start-up; which one ran is read off
``/metrics`` (``ovos_realtime_transcriptions_total{plugin}``). Also: keywords steer the fitted Whisper, and its
token log-probabilities reach the client when ``include`` asks for them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from ovos_realtime_plugin.core.stt import LOGPROBS_INCLUDE, SttRequest
from ovos_realtime_plugin.engines.choice import STT_DEFAULT, speech_choices
from ovos_realtime_plugin.engines.loader import EngineLoadError
from ovos_realtime_plugin.engines.speech import LoadedSpeech, load_speech_engines
from ovos_realtime_plugin.server.speech_engines import SpeechEngines
from tests.fixtures_server import Running
from tests.fixtures_speech import engines_from, serving, silence, spoken
from tests.sdk_helpers import collect
from tests.test_metrics import delta, http_get, scrape
from tests.test_voice import client
from tests.voice_helpers import first, stream_audio, words

pytest.importorskip("moonshine_cpp", reason="moonshine-cpp has x86_64 wheels only (requirements.txt marker)")

MOONSHINE = "ovos-stt-plugin-moonshine-base-en"
MODELS = {"gpt-4o-mini-transcribe": MOONSHINE, "gpt-4o-transcribe": STT_DEFAULT}
COMPLETED = "conversation.item.input_audio_transcription.completed"


@pytest.fixture(scope="module")
def two_stts() -> Iterator[LoadedSpeech]:
    with engines_from({"realtime": {"transcription_models": MODELS, "tts": {"module": "none"}}}) as loaded:
        yield loaded


@pytest.fixture(scope="module")
async def server(two_stts: LoadedSpeech) -> AsyncIterator[Running]:
    async with serving(two_stts.engines) as running:
        yield running


async def transcribed(running: Running, said: str, **session: Any) -> dict[str, Any]:
    """A session with these transcription settings hears ``said``: its ``completed`` event."""
    include = session.pop("include", None)
    transcription = {key: value for key, value in session.items() if value is not None}
    async with client(running).realtime.connect(model="gpt-realtime") as conn:
        await collect(conn, "session.created")
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"],
                                           **({"include": include} if include else {}),
                                           "audio": {"input": {"transcription": transcription, "turn_detection": {
                                               "type": "server_vad", "create_response": False}}}})
        await collect(conn, "session.updated")
        await stream_audio(conn, silence(300) + spoken(said) + silence(900), 48)
        return first(await collect(conn, COMPLETED), COMPLETED)


async def runs(running: Running, said: str, **session: Any) -> tuple[dict[str, Any], dict[str, float]]:
    """The ``completed`` event, and how many transcriptions each plugin ran for it."""
    port = running.server.port
    before = await scrape(port)
    done = await transcribed(running, said, **session)
    after = await scrape(port)
    return done, {plugin: delta(before, after, "transcriptions_total", plugin=plugin)
                  for plugin in (MOONSHINE, STT_DEFAULT)}


async def test_a_mapped_model_name_is_transcribed_by_its_plugin(server: Running) -> None:
    done, counts = await runs(server, "what time is it", model="gpt-4o-mini-transcribe")
    assert words(done["transcript"])[:1] == ["what"]  # heard through server VAD's cut: "what tie is it"
    assert counts[MOONSHINE] >= 1 and counts[STT_DEFAULT] == 0


@pytest.mark.parametrize("model", ["gpt-4o-transcribe", "no-such-model", None])
async def test_an_unknown_or_default_mapped_name_is_transcribed_by_the_default(server: Running,
                                                                              model: str | None) -> None:
    done, counts = await runs(server, "what time is it", model=model)
    assert words(done["transcript"]) == ["what", "time", "is", "it"]
    assert counts[STT_DEFAULT] >= 1 and counts[MOONSHINE] == 0


def test_each_plugin_loads_once_and_health_names_them(two_stts: LoadedSpeech) -> None:
    models = two_stts.transcription_models
    assert models["gpt-4o-transcribe"] is two_stts.stt  # the default's own instance: not loaded twice
    assert models["gpt-4o-mini-transcribe"].module == MOONSHINE


async def test_healthz_lists_the_transcription_models(server: Running) -> None:
    health = json.loads((await http_get(server.server.port, "/healthz"))[2])
    assert health["transcription_models"] == MODELS


async def test_logprobs_come_with_the_transcript_when_included(server: Running) -> None:
    done, _ = await runs(server, "what time is it", model="whisper-1", include=[LOGPROBS_INCLUDE])
    tokens = done["logprobs"]
    assert "".join(t["token"] for t in tokens).strip() == done["transcript"]
    assert all(t["logprob"] <= 0 and bytes(t["bytes"]).decode() == t["token"] for t in tokens)
    plain, _ = await runs(server, "what time is it", model="whisper-1")
    assert "logprobs" not in plain


async def test_an_engine_without_token_scores_leaves_logprobs_out(server: Running) -> None:
    done, counts = await runs(server, "what time is it", model="gpt-4o-mini-transcribe",
                              include=[LOGPROBS_INCLUDE])
    assert counts[MOONSHINE] >= 1 and "logprobs" not in done and done["transcript"]


async def test_keywords_steer_the_fitted_whisper(two_stts: LoadedSpeech) -> None:
    stt = two_stts.stt
    assert stt is not None and stt.hinted
    audio = spoken("open Kubernetes dashboard")
    assert "kubernetes" not in words((await stt.hear(audio, 24000, SttRequest("en-US"))).text)
    assert "kubernetes" in words((await stt.hear(audio, 24000, SttRequest("en-US", keywords=("Kubernetes",)))).text)


async def test_keywords_reach_the_engine_from_the_session(server: Running) -> None:
    done, _ = await runs(server, "open Kubernetes dashboard", model="whisper-1", keywords=["Kubernetes"])
    assert "kubernetes" in words(done["transcript"])


def test_the_default_is_used_for_names_not_mapped() -> None:
    default, other = object(), object()
    engines = SpeechEngines(stt=default, transcription_models={"a": other})  # type: ignore[arg-type,dict-item]
    assert (engines.transcriber("a"), engines.transcriber("b"), engines.transcriber(None)) == (other, default, default)


def test_a_model_mapped_to_no_plugin_or_a_missing_one_stops_start_up() -> None:
    with pytest.raises(EngineLoadError, match='"m" names no STT plugin'):
        speech_choices({"realtime": {"transcription_models": {"m": ""}}}, {})
    choices = speech_choices({"realtime": {"transcription_models": {"m": "ovos-stt-plugin-nonexistent"},
                                           "stt": {"module": "none"}, "tts": {"module": "none"},
                                           "vad": {"module": "none"}}}, {})
    with pytest.raises(EngineLoadError, match="'ovos-stt-plugin-nonexistent' is not installed"):
        load_speech_engines(choices, warm=False)
