"""What keeps a spoken answer fast, checked step by step (no timing): an OVOS ``speak`` goes to TTS the moment it
arrives, stale early transcripts never hold up the final one, ``semantic_vad`` transcribes at the first quiet frame,
and the VAD hears all of a chunk the moment it arrives."""

from __future__ import annotations

import asyncio
import base64

from ovos_realtime_plugin.core.assistant import TextDelta
from ovos_realtime_plugin.core.effects import RunAssistant
from ovos_realtime_plugin.server.speech_engines import SpeechEngines
from tests.fixtures_speech import DrivenSession, silence, spoken
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


# -- when the pause is heard ----------------------------------------------------------------------

def test_semantic_vad_transcribes_at_the_first_quiet_frame_server_vad_at_the_second() -> None:
    """semantic_vad's turn ends on its early transcript, so it starts one frame sooner; server_vad has a silence
    window to wait anyway and keeps gaps between words from starting attempts."""
    semantic = VoiceCore({"type": "semantic_vad", "eagerness": "auto"})
    server = VoiceCore()
    for core in (semantic, server):
        core.hear((5, 0.0), (20, 0.9))
    assert len(transcribes(semantic.hear((1, 0.1))[1])) == 1
    assert transcribes(server.hear((1, 0.1))[1]) == []
    assert len(transcribes(server.hear((1, 0.1))[1])) == 1


class HeardAudio:
    """A speech detector that says silence and keeps the size of each piece of 16 kHz audio it is given."""

    def __init__(self) -> None:
        self.sizes: asyncio.Queue[int] = asyncio.Queue()

    async def probabilities(self, pcm16_16k: bytes) -> list[float]:
        self.sizes.put_nowait(len(pcm16_16k))
        return []

    def reset(self) -> None:
        pass


async def test_the_vad_is_given_all_of_each_chunk_the_moment_it_arrives() -> None:
    """A resampler's filter holds the end of each chunk back until the next one (soxr HQ: 8-35 ms from 24 to
    16 kHz), and a pause heard there would count a chunk late. The VAD's resampler holds back one sample."""
    detector = HeardAudio()
    driven = DrivenSession(SpeechEngines(new_vad=lambda: detector))
    driven.send({"type": "session.update", "session": {"type": "realtime", "audio": {
        "input": {"turn_detection": {"type": "server_vad", "create_response": False}}}}})
    audio = silence(40) + spoken("what time is it")
    given = 0
    try:
        for n, start in enumerate(range(0, len(audio) - 4800, 4800)):  # 100 ms appends at 24 kHz
            driven.send({"type": "input_audio_buffer.append",
                         "audio": base64.b64encode(audio[start:start + 4800]).decode()})
            given += await asyncio.wait_for(detector.sizes.get(), 30)
            assert (n + 1) * 3200 - given <= 2, f"after {n + 1} appends"  # 3,200 bytes: 100 ms at 16 kHz
    finally:
        driven.driver.close()
