"""The session's transcription fields reach the STT request (``model``, ``language``/``languages``, ``prompt``,
``keywords``, ``include`` logprobs), and token scores come back in the transcript's events.

Scripted against the sans-I/O core: audio committed by hand, the engine's result fed as the speech driver would.
"""

from __future__ import annotations

import base64
from typing import Any

from ovos_realtime_plugin.core.effects import Transcribe
from ovos_realtime_plugin.core.stt import LOGPROBS_INCLUDE, TokenLogprob
from tests.sdk_helpers import types
from tests.test_core_sequences import Core, pcm_ms

TOKENS = (TokenLogprob(" What", -0.78, (32, 87, 104, 97, 116)), TokenLogprob(" time", -0.17, (32, 116, 105, 109, 101)))


def committed(session: dict[str, Any]) -> tuple[Core, Transcribe]:
    """A session updated with ``session``, one second of audio committed; its transcription request."""
    core = Core()
    assert types(core.send({"type": "session.update", "session": {"type": "realtime", **session}})) == [
        "session.updated"]
    core.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm_ms(1000, 100)).decode()})
    core.send({"type": "input_audio_buffer.commit"})
    (job,) = [e for e in core.effects() if isinstance(e, Transcribe)]
    return core, job


def transcription(**fields: Any) -> dict[str, Any]:
    return {"audio": {"input": {"transcription": fields}}}


def test_the_model_prompt_and_keywords_go_with_the_request() -> None:
    _, job = committed(transcription(model="gpt-4o-mini-transcribe", prompt="a kitchen", keywords=["Kubernetes"]))
    assert (job.model, job.prompt, job.keywords, job.logprobs) == ("gpt-4o-mini-transcribe", "a kitchen",
                                                                   ("Kubernetes",), False)


def test_the_first_of_languages_is_the_language_when_none_is_set() -> None:
    assert committed(transcription(model="whisper-1", languages=["de", "en"]))[1].language == "de"
    assert committed(transcription(model="whisper-1", language="fr", languages=["de"]))[1].language == "fr"
    assert committed(transcription(model="whisper-1", languages=[]))[1].language is None


def test_logprobs_are_sent_when_included_and_the_engine_scored_the_tokens() -> None:
    core, job = committed({**transcription(model="whisper-1"), "include": [LOGPROBS_INCLUDE]})
    assert job.logprobs
    core.session.on_transcript(job.item_id, "What time", 1.0, logprobs=TOKENS)
    (done,) = [e for e in core.take() if e["type"] == "conversation.item.input_audio_transcription.completed"]
    assert done["logprobs"] == [{"token": " What", "logprob": -0.78, "bytes": [32, 87, 104, 97, 116]},
                                {"token": " time", "logprob": -0.17, "bytes": [32, 116, 105, 109, 101]}]


def test_logprobs_are_left_out_when_not_included_or_not_scored() -> None:
    core, job = committed(transcription(model="whisper-1"))
    core.session.on_transcript(job.item_id, "What time", 1.0, logprobs=TOKENS)  # scored, not asked for
    core2, job2 = committed({**transcription(model="whisper-1"), "include": [LOGPROBS_INCLUDE]})
    core2.session.on_transcript(job2.item_id, "What time", 1.0)  # asked for, an engine without scores
    for events in (core.take(), core2.take()):
        (done,) = [e for e in events if e["type"] == "conversation.item.input_audio_transcription.completed"]
        assert "logprobs" not in done and done["transcript"] == "What time"


def test_long_audio_deltas_carry_their_pieces_logprobs() -> None:
    core, job = committed({**transcription(model="whisper-1"), "include": [LOGPROBS_INCLUDE]})
    core.session.on_transcript_delta(job.item_id, "What", TOKENS[:1])
    (delta,) = [e for e in core.take() if e["type"] == "conversation.item.input_audio_transcription.delta"]
    assert delta["logprobs"] == [TOKENS[0].wire()]
