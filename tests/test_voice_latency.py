"""What keeps a spoken answer fast, checked step by step on the core (no engines, no timing):
an OVOS ``speak`` goes to TTS the moment it arrives, and stale early transcripts never hold up the final one."""

from __future__ import annotations

from ovos_realtime_plugin.core.assistant import TextDelta
from ovos_realtime_plugin.core.effects import RunAssistant
from tests.sdk_helpers import types
from tests.test_core_sequences import AUDIO_DONE, Core, pcm_ms, speak, synthesized
from tests.test_core_transcripts import FRAME_MS, VoiceCore, transcribes


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


# -- stale early transcripts ----------------------------------------------------------------------

def test_a_one_frame_dip_between_words_starts_no_early_transcript() -> None:
    core = VoiceCore()
    _, effects = core.hear((5, 0.0), (20, 0.9), (1, 0.1), (10, 0.9))  # a 32 ms dip inside the words
    assert transcribes(effects) == []  # nothing the final transcript could queue behind
    _, effects = core.hear((2, 0.1))  # the real pause
    (early,) = transcribes(effects)
    assert early.attempt == 1 and len(early.audio) >= len(pcm_ms(31 * FRAME_MS))


def test_a_blip_in_the_pause_keeps_the_early_transcript_for_the_final_one() -> None:
    core = VoiceCore()
    _, effects = core.hear((5, 0.0), (20, 0.9), (2, 0.1))
    (early,) = transcribes(effects)
    _, effects = core.hear((1, 0.9), (10, 0.1))  # a breath, then the silence window passes
    assert transcribes(effects) == []  # no second attempt queued behind the first
    assert core.session.transcript_wanted(early.item_id, early.attempt)
    core.session.on_transcript(early.item_id, "what time is it", 0.7, attempt=early.attempt)
    completed = [e for e in core.take() if e["type"].endswith("transcription.completed")]
    assert [e["transcript"] for e in completed] == ["what time is it"]
    assert [e for e in core.effects() if isinstance(e, RunAssistant)]


def test_speech_that_goes_on_after_a_pause_still_drops_its_early_transcript() -> None:
    core = VoiceCore()
    _, effects = core.hear((5, 0.0), (20, 0.9), (2, 0.1))
    (early,) = transcribes(effects)
    core.hear((2, 0.9))
    assert not core.session.transcript_wanted(early.item_id, early.attempt)
