"""``Anticipate``: the core says when the answer to a paused turn may be prepared, and with what settings.

Scripted against the sans-I/O core with VAD probabilities fed as the speech driver would.
"""

from __future__ import annotations

from typing import Any

from ovos_realtime_plugin.core.effects import Anticipate, Effect
from tests.sdk_helpers import types
from tests.test_core_transcripts import SERVER_VAD, VoiceCore, transcribes


def anticipations(effects: list[Effect]) -> list[Anticipate]:
    return [e for e in effects if isinstance(e, Anticipate)]


def paused_on(words: str, core: VoiceCore) -> list[Anticipate]:
    """Speech, a pause, and the early transcript of it arriving: what the core asks to prepare."""
    _, effects = core.hear((5, 0.0), (20, 0.9), (2, 0.1))
    (early,) = transcribes(effects)
    core.session.on_transcript(early.item_id, words, 0.7, attempt=early.attempt)
    return anticipations(core.effects())


def audio_core(turn_detection: dict[str, Any] | None = None) -> VoiceCore:
    core = VoiceCore(turn_detection)
    core.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["audio"],
                                                     "audio": {"output": {"voice": "verse", "speed": 1.2}}}})
    return core


def test_a_paused_turn_with_its_words_asks_to_prepare_their_answer_with_the_responses_settings() -> None:
    core = audio_core()
    (anticipate,) = paused_on("What time is it?", core)
    assert anticipate.text == "What time is it?"
    assert anticipate.audio and anticipate.voice == "verse" and anticipate.speed == 1.2
    assert anticipate.model == core.session.model


def test_a_text_only_session_anticipates_without_audio() -> None:
    (anticipate,) = paused_on("What time is it?", VoiceCore())
    assert not anticipate.audio


def test_no_anticipation_when_the_turn_will_not_create_a_response() -> None:
    core = VoiceCore({**SERVER_VAD, "create_response": False})
    assert paused_on("What time is it?", core) == []


def test_no_anticipation_while_a_response_is_active() -> None:
    core = VoiceCore({**SERVER_VAD, "interrupt_response": False})  # the user talks over the answer
    core.send({"type": "response.create", "response": {"conversation": "auto"}})
    assert core.session.active_response() is not None
    assert paused_on("What time is it?", core) == []


def test_semantic_vad_ending_the_turn_on_finished_words_needs_no_anticipation() -> None:
    core = VoiceCore({"type": "semantic_vad", "eagerness": "low"})
    _, effects = core.hear((5, 0.0), (20, 0.9), (6, 0.1))  # 192 ms into the pause: the words end the turn
    (early,) = transcribes(effects)
    core.session.on_transcript(early.item_id, "What time is it?", 0.7, attempt=early.attempt)
    assert types(core.take())[0] == "input_audio_buffer.speech_stopped"
    assert anticipations(core.effects()) == []


def test_semantic_vad_does_not_anticipate_words_that_read_unfinished() -> None:
    core = VoiceCore({"type": "semantic_vad", "eagerness": "high"})
    assert paused_on("Turn on the", core) == []


def test_semantic_vad_does_not_anticipate_finished_words_while_the_quiet_is_still_short() -> None:
    """Its turn ends once the quiet after them is long enough; what stays paused is mostly a gap between words."""
    core = VoiceCore({"type": "semantic_vad", "eagerness": "high"})
    assert paused_on("What time is it?", core) == []  # 64 ms of quiet: the turn ends at 160
    events, _ = core.hear((3, 0.1))
    assert types(events)[0] == "input_audio_buffer.speech_stopped"


def test_a_transcript_with_no_words_anticipates_nothing() -> None:
    assert paused_on("", VoiceCore()) == []


def test_an_early_transcript_that_came_after_speech_resumed_anticipates_nothing() -> None:
    core = VoiceCore()
    _, effects = core.hear((5, 0.0), (20, 0.9), (2, 0.1))
    (early,) = transcribes(effects)
    core.hear((10, 0.9))  # the user goes on before the engine is done
    core.session.on_transcript(early.item_id, "What time", 0.7, attempt=early.attempt)
    assert anticipations(core.effects()) == []


def test_the_anticipation_names_the_paused_turns_item() -> None:
    core = VoiceCore()
    events, effects = core.hear((5, 0.0), (20, 0.9), (2, 0.1))
    (early,) = transcribes(effects)
    core.session.on_transcript(early.item_id, "What time is it?", 0.7, attempt=early.attempt)
    (anticipate,) = anticipations(core.effects())
    assert anticipate.item_id == events[0]["item_id"] == early.item_id


def test_server_vad_does_not_anticipate_words_that_do_not_read_finished() -> None:
    assert paused_on("Turn on the", VoiceCore()) == []
    assert paused_on("what time is it", VoiceCore()) == []  # no final punctuation: Whisper's words end with it
