"""The early transcript: started when the user pauses, kept if the turn ends there, dropped if speech resumes.

Scripted against the sans-I/O core with VAD probabilities fed as the speech driver would.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from ovos_realtime_plugin.core.effects import DetectSpeech, Effect, RunAssistant, Transcribe
from ovos_realtime_plugin.core.endpointing import looks_finished
from ovos_realtime_plugin.server.speech_lanes import split_long_audio
from tests.sdk_helpers import types
from tests.test_core_sequences import Core, pcm_ms

FRAME_MS = 32


SERVER_VAD = {"type": "server_vad", "silence_duration_ms": 320, "prefix_padding_ms": 0}


class VoiceCore(Core):
    """A session with server VAD (silence window 320 ms) and transcription on."""

    def __init__(self, turn_detection: dict[str, Any] | None = None) -> None:
        super().__init__("text")
        self.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {
            "transcription": {"model": "whisper-1"}, "turn_detection": turn_detection or SERVER_VAD}}}})
        self.frames = 0

    def hear(self, *pattern: tuple[int, float]) -> tuple[list[dict[str, Any]], list[Effect]]:
        """Append audio for each (frames, probability) run and report the VAD's verdicts on it."""
        events: list[dict[str, Any]] = []
        effects: list[Effect] = []
        for count, probability in pattern:
            events += self.send({"type": "input_audio_buffer.append",
                                 "audio": base64.b64encode(pcm_ms(count * FRAME_MS, 100)).decode()})
            effects += [e for e in self.effects() if not isinstance(e, DetectSpeech)]
            self.session.on_speech_frames(self.frames * FRAME_MS, FRAME_MS, [probability] * count)
            self.frames += count
            events += self.take()
            effects += self.effects()
        return events, effects


def transcribes(effects: list[Effect]) -> list[Transcribe]:
    return [e for e in effects if isinstance(e, Transcribe)]


def test_a_pause_starts_a_transcript_that_becomes_the_items_when_the_turn_ends() -> None:
    core = VoiceCore()
    events, effects = core.hear((5, 0.0), (20, 0.9), (2, 0.1))  # speech, then the pause begins
    assert types(events) == ["input_audio_buffer.speech_started"]
    item_id = events[0]["item_id"]
    (early,) = transcribes(effects)
    assert early.item_id == item_id and early.attempt == 1
    assert len(early.audio) >= pcm_ms(20 * FRAME_MS).__len__()  # the whole of the speech so far
    core.session.on_transcript(item_id, "turn it up", 0.7, attempt=1)  # the engine is done before the turn is
    assert core.take() == []
    events, effects = core.hear((10, 0.1))  # the silence window passes: the turn is over
    assert transcribes(effects) == []  # no second transcription of the same words
    assert [e for e in effects if isinstance(e, RunAssistant)]
    names = types(events)
    assert names[:5] == ["input_audio_buffer.speech_stopped", "input_audio_buffer.committed",
                         "conversation.item.added", "conversation.item.done",
                         "conversation.item.input_audio_transcription.delta"]
    completed = events[names.index("conversation.item.input_audio_transcription.completed")]
    assert completed["transcript"] == "turn it up" and completed["item_id"] == item_id
    assert completed["usage"]["seconds"] >= 0.9  # the committed audio, not the early part


def test_speech_resuming_drops_the_early_transcript_and_a_later_pause_starts_another() -> None:
    core = VoiceCore()
    _, effects = core.hear((5, 0.0), (20, 0.9), (2, 0.1))
    (first,) = transcribes(effects)
    _, effects = core.hear((10, 0.9))  # the user goes on
    assert not core.session.transcript_wanted(first.item_id, first.attempt)
    core.session.on_transcript(first.item_id, "turn it", 0.5, attempt=first.attempt)  # stale: ignored
    assert core.take() == []
    _, effects = core.hear((2, 0.1))
    (second,) = transcribes(effects)
    assert second.attempt == 2 and len(second.audio) > len(first.audio)
    events, effects = core.hear((10, 0.1))
    assert "conversation.item.input_audio_transcription.completed" not in types(events)  # waits for attempt 2
    assert not [e for e in effects if isinstance(e, RunAssistant)]
    core.session.on_transcript(second.item_id, "turn it up please", 1.0, attempt=2)
    events = core.take()
    assert [e["transcript"] for e in events if e["type"].endswith("transcription.completed")] == [
        "turn it up please"]
    assert [e for e in core.effects() if isinstance(e, RunAssistant)]


def test_a_committed_turn_keeps_its_early_transcript_whatever_comes_next() -> None:
    core = VoiceCore()
    _, effects = core.hear((5, 0.0), (20, 0.9), (2, 0.1))
    (first,) = transcribes(effects)
    core.hear((10, 0.1))  # committed; its transcript is still on its way
    _, effects = core.hear((20, 0.9), (2, 0.1))  # the next turn starts and pauses
    (second,) = transcribes(effects)
    core.send({"type": "input_audio_buffer.clear"})  # and the client clears the buffer
    assert core.session.transcript_wanted(first.item_id, first.attempt)
    assert not core.session.transcript_wanted(second.item_id, second.attempt)
    core.session.on_transcript(first.item_id, "first turn", 0.7, attempt=first.attempt)
    completed = [e for e in core.take() if e["type"].endswith("transcription.completed")]
    assert [(e["item_id"], e["transcript"]) for e in completed] == [(first.item_id, "first turn")]


def test_an_early_failure_fails_the_committed_item() -> None:
    core = VoiceCore()
    _, effects = core.hear((5, 0.0), (20, 0.9), (2, 0.1))
    (early,) = transcribes(effects)
    core.hear((10, 0.1))
    core.session.on_transcript_error(early.item_id, "engine crashed", attempt=early.attempt)
    events = core.take()
    assert types(events)[0] == "conversation.item.input_audio_transcription.failed"
    assert events[0]["error"]["message"] == "engine crashed"
    done = next(e for e in events if e["type"] == "response.done")["response"]  # the turn's response: nothing to hear
    assert done["status"] == "failed" and done["status_details"]["error"]["code"] == "transcription_failed"


def test_a_manual_commit_during_a_pause_transcribes_what_was_committed() -> None:
    core = VoiceCore()
    _, effects = core.hear((5, 0.0), (20, 0.9), (2, 0.1))
    (early,) = transcribes(effects)
    core.send({"type": "input_audio_buffer.commit"})
    (committed,) = transcribes(core.effects())
    assert committed.attempt == 0 and not core.session.transcript_wanted(early.item_id, early.attempt)


def test_server_vad_tells_a_long_windows_pause_only_as_long_before_its_end_as_an_answer_takes() -> None:
    """A 500 ms window: the pause is told at 160 ms (EARLY_LEAD_MS before the end), so a gap between words of 64-128
    ms (the closure of a "t") starts no transcript; a 320 ms window tells it after 64 ms, as before."""
    core = VoiceCore({"type": "server_vad", "silence_duration_ms": 500, "prefix_padding_ms": 0})
    _, effects = core.hear((5, 0.0), (20, 0.9), (4, 0.1), (10, 0.9))  # 128 ms between words
    assert transcribes(effects) == []
    _, effects = core.hear((4, 0.1))
    assert transcribes(effects) == []
    _, effects = core.hear((1, 0.1))  # 160 ms into the pause
    assert len(transcribes(effects)) == 1
    short = VoiceCore()
    _, effects = short.hear((5, 0.0), (20, 0.9), (2, 0.1))
    assert len(transcribes(effects)) == 1


def test_semantic_vad_ends_a_turn_early_when_the_words_read_as_finished() -> None:
    core = VoiceCore({"type": "semantic_vad", "eagerness": "low"})  # a 1200 ms pause ends the turn otherwise
    _, effects = core.hear((5, 0.0), (20, 0.9), (6, 0.1))  # 192 ms into the pause
    (early,) = transcribes(effects)
    core.session.on_transcript(early.item_id, "What time is it?", 0.7, attempt=early.attempt)
    events = core.take()
    names = types(events)
    assert names[0] == "input_audio_buffer.speech_stopped" and events[0]["audio_end_ms"] == 25 * FRAME_MS
    completed = events[names.index("conversation.item.input_audio_transcription.completed")]
    assert completed["transcript"] == "What time is it?"


def test_semantic_vad_does_not_end_a_turn_on_a_voiced_frame_inside_the_pause() -> None:
    """A transcript that reads finished arrives while the last frame heard is voiced (speech may be resuming:
    the detector counts one voiced frame as a blip in the pause until a second one follows). The pause has lasted
    long enough on paper, but the turn ends only on a frame that is quiet; here speech resumes."""
    core = VoiceCore({"type": "semantic_vad", "eagerness": "low"})
    _, effects = core.hear((5, 0.0), (20, 0.9), (4, 0.1))  # the pause is told after 64 ms
    (early,) = transcribes(effects)
    core.hear((1, 0.9))  # one voiced frame: 160 ms since the pause began
    core.session.on_transcript(early.item_id, "What?", 0.7, attempt=early.attempt)
    assert "input_audio_buffer.speech_stopped" not in types(core.take())
    events, _ = core.hear((10, 0.9), (3, 0.1))  # "time is it", then a new pause
    assert "input_audio_buffer.speech_stopped" not in types(events)


def test_semantic_vad_does_not_add_up_two_gaps_between_words_into_a_finished_pause() -> None:
    """Silero on espeak-ng's "what time is it" (a session's tenth turn): after "what", two quiet frames, one voiced
    frame (the release of the "t"), two quiet frames — 160 ms counting the voiced one held as a blip — and the
    early transcript "What?" arrives then. The quiet since the last voiced frame is 64 ms: the turn goes on."""
    core = VoiceCore({"type": "semantic_vad", "eagerness": "auto"})
    _, effects = core.hear((5, 0.0), (5, 0.9), (1, 0.02), (1, 0.13))
    (early,) = transcribes(effects)
    core.hear((1, 0.71), (1, 0.17), (1, 0.15))
    core.session.on_transcript(early.item_id, "What?", 0.3, attempt=early.attempt)
    assert "input_audio_buffer.speech_stopped" not in types(core.take())
    events, _ = core.hear((1, 0.46), (12, 0.95))  # "time is it"
    assert "input_audio_buffer.speech_stopped" not in types(events)


def test_semantic_vad_waits_longer_when_the_words_read_as_unfinished() -> None:
    core = VoiceCore({"type": "semantic_vad", "eagerness": "high"})  # 250 ms pause ends the turn otherwise
    _, effects = core.hear((5, 0.0), (20, 0.9), (2, 0.1))
    (early,) = transcribes(effects)
    core.session.on_transcript(early.item_id, "Turn on the", 0.7, attempt=early.attempt)
    assert core.take() == []
    events, _ = core.hear((10, 0.1))  # 384 ms of pause: past 250, not past 500
    assert "input_audio_buffer.speech_stopped" not in types(events)
    events, _ = core.hear((5, 0.1))
    assert types(events)[0] == "input_audio_buffer.speech_stopped"


def update_turn_detection(core: VoiceCore, turn_detection: dict[str, Any]) -> None:
    core.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {
        "turn_detection": turn_detection}}}})
    core.take()


def test_a_new_silence_window_applies_at_once() -> None:
    core = VoiceCore()  # 320 ms
    update_turn_detection(core, {"type": "semantic_vad", "eagerness": "low"})  # 1200 ms
    events, _ = core.hear((5, 0.0), (20, 0.9), (20, 0.1))  # 640 ms of pause
    assert "input_audio_buffer.speech_stopped" not in types(events)


def test_words_read_by_semantic_vad_do_not_end_a_pause_that_server_vad_now_times() -> None:
    core = VoiceCore({"type": "semantic_vad", "eagerness": "low"})
    _, effects = core.hear((5, 0.0), (20, 0.9), (1, 0.1))
    (early,) = transcribes(effects)
    core.session.on_transcript(early.item_id, "What time is it?", 0.7, attempt=early.attempt)  # 32 ms of quiet
    assert core.take() == []
    update_turn_detection(core, {"type": "server_vad", "silence_duration_ms": 500})
    events, _ = core.hear((10, 0.1))  # 352 ms of quiet: enough after finished words, not for server_vad
    assert "input_audio_buffer.speech_stopped" not in types(events)
    events, _ = core.hear((5, 0.1))
    assert types(events)[0] == "input_audio_buffer.speech_stopped"


def test_words_read_unfinished_keep_the_longer_window_through_a_new_eagerness() -> None:
    core = VoiceCore({"type": "semantic_vad", "eagerness": "high"})
    _, effects = core.hear((5, 0.0), (20, 0.9), (1, 0.1))
    (early,) = transcribes(effects)
    core.session.on_transcript(early.item_id, "Turn on the", 0.7, attempt=early.attempt)
    update_turn_detection(core, {"type": "semantic_vad", "eagerness": "medium"})  # 600 ms, twice for these words
    events, _ = core.hear((25, 0.1))  # 832 ms of pause
    assert "input_audio_buffer.speech_stopped" not in types(events)
    events, _ = core.hear((13, 0.1))  # 1,248 ms
    assert types(events)[0] == "input_audio_buffer.speech_stopped"


def test_server_vad_ignores_what_the_words_say() -> None:
    core = VoiceCore()
    _, effects = core.hear((5, 0.0), (20, 0.9), (2, 0.1))
    (early,) = transcribes(effects)
    core.session.on_transcript(early.item_id, "What time is it?", 0.7, attempt=early.attempt)
    assert core.take() == []


def test_idle_timeout_commits_and_answers_after_a_quiet_spell() -> None:
    core = VoiceCore({**SERVER_VAD, "idle_timeout_ms": 5000})
    events, _ = core.hear((150, 0.0))  # 4.8 s of quiet
    assert "input_audio_buffer.timeout_triggered" not in types(events)
    events, effects = core.hear((10, 0.0))
    names = types(events)
    timeout = events[names.index("input_audio_buffer.timeout_triggered")]
    assert timeout["audio_start_ms"] == 0 and timeout["audio_end_ms"] >= 5000
    assert "input_audio_buffer.committed" in names and "response.created" in names


def test_long_audio_is_cut_into_pieces_whisper_can_hear_at_its_quietest_points() -> None:
    rate = 16000
    loud = (3000).to_bytes(2, "little", signed=True)
    second = loud * rate
    quiet_at = 23  # a quiet 200 ms after 23 s of speech
    audio = second * quiet_at + bytes(2 * rate // 5) + second * 37
    pieces = split_long_audio(audio, rate)
    assert b"".join(pieces) == audio
    assert all(len(p) <= 25 * rate * 2 for p in pieces) and len(pieces) == 3
    assert quiet_at * rate * 2 <= len(pieces[0]) <= (quiet_at + 0.2) * rate * 2
    assert split_long_audio(second * 10, rate) == [second * 10]


@pytest.mark.parametrize(("text", "finished"), [
    ("What time is it?", True), ("Turn on the lights.", True), ("Stop!", True), ("turn on the", False),
    ("I want to go to the park and", False), ("Play some, um...", False), ("Set a timer for", False),
    ("Well,", False), ("hello there", False), ("", None), ("   ", None),
])
def test_words_that_read_as_a_finished_turn(text: str, finished: bool | None) -> None:
    assert looks_finished(text) is finished
