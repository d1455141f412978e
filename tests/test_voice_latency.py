"""What keeps a spoken answer fast, checked step by step on the core (no engines, no timing):
an OVOS ``speak`` goes to TTS the moment it arrives, and stale early transcripts never hold up the final one."""

from __future__ import annotations

from ovos_realtime_plugin.core.assistant import TextDelta
from tests.test_core_sequences import AUDIO_DONE, Core, pcm_ms, speak, synthesized
from tests.sdk_helpers import types


def test_a_speak_without_punctuation_is_synthesized_before_the_turn_ends() -> None:
    core = Core("audio")
    rid = core.respond().request.response_id
    core.output(rid, TextDelta("It's ten forty eight", utterance_end=True))
    [job] = synthesized(core.effects())  # at once: not held for a final period or the end of the response
    assert (job.seq, job.text) == (1, "It's ten forty eight")
    core.output(rid, TextDelta(" and the sun is up", utterance_end=True))
    [second] = synthesized(core.effects())
    assert (second.seq, second.text) == (2, "and the sun is up")
    assert core.end(rid) == [] and core.effects() == []  # nothing left to speak; the item waits for its audio
    speak(core, job, pcm_ms(100))
    done = speak(core, second, pcm_ms(100))
    assert types(done) == ["response.output_audio.delta"] + AUDIO_DONE
    assert done[2]["transcript"] == "It's ten forty eight and the sun is up"


def test_streamed_text_without_an_utterance_end_still_waits_for_the_sentence() -> None:
    core = Core("audio")
    rid = core.respond().request.response_id
    core.output(rid, TextDelta("It's ten forty"))
    assert core.effects() == []  # a token stream: the clause may go on
    core.output(rid, TextDelta(" eight", utterance_end=True))
    assert [j.text for j in synthesized(core.effects())] == ["It's ten forty eight"]
