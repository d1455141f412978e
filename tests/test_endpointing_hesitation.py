"""``semantic_vad`` at a hesitation inside a command: words that may go on, or that are still being transcribed,
hold the turn open longer than the eagerness's window; words that read finished still end it after a short quiet.

Scripted against the sans-I/O core with VAD probabilities fed as the speech driver would (32 ms frames; eagerness
``auto``: a 600 ms window).
"""

from __future__ import annotations

import pytest

from ovos_realtime_plugin.core.endpointing import Reading, looks_finished, reading
from tests.sdk_helpers import types
from tests.test_core_transcripts import VoiceCore, transcribes

AUTO = {"type": "semantic_vad", "eagerness": "auto"}
STOPPED = "input_audio_buffer.speech_stopped"


@pytest.mark.parametrize(("text", "read"), [
    ("What time is it?", Reading.FINISHED), ("Turn on the kitchen lights.", Reading.FINISHED),
    ("Turn it off.", Reading.FINISHED), ("Turn it up.", Reading.FINISHED), ("Stop!", Reading.FINISHED),
    ("What can you play?", Reading.FINISHED),
    ("Set a timer for it.", Reading.UNSURE),  # Whisper's word after a cut-off "for"
    ("Tell me.", Reading.UNSURE), ("Turn off!", Reading.UNSURE), ("Play.", Reading.UNSURE),  # no object
    ("Remind me to call my mother", Reading.UNSURE), ("hello there", Reading.UNSURE),  # not punctuated
    ("Turn on the", Reading.UNFINISHED), ("Play some, um...", Reading.UNFINISHED), ("", None),
])
def test_how_words_read_at_a_pause(text: str, read: Reading | None) -> None:
    assert reading(text) is read
    assert looks_finished(text) is (None if read is None else read is Reading.FINISHED)


def paused(core: VoiceCore, quiet_frames: int) -> tuple[str, int]:
    """Speech, then a pause of ``quiet_frames``: the early transcript's item and attempt."""
    _, effects = core.hear((5, 0.0), (20, 0.9), (quiet_frames, 0.1))
    (early,) = transcribes(effects)
    return early.item_id, early.attempt


@pytest.mark.parametrize("words", ["Set a timer for it.", "Tell me.", "Remind me to call my mother"])
def test_words_that_may_go_on_hold_the_turn_half_as_long_again_as_the_window(words: str) -> None:
    core = VoiceCore(AUTO)
    item_id, attempt = paused(core, 2)
    core.session.on_transcript(item_id, words, 0.5, attempt=attempt)
    assert core.take() == []
    events, _ = core.hear((25, 0.1))  # 864 ms of pause: past the window, not past half as long again
    assert STOPPED not in types(events)
    events, _ = core.hear((2, 0.1))  # 928 ms: past it, and short of the unfinished words' 1,200
    assert types(events)[0] == STOPPED


def test_a_pause_waits_for_the_words_being_transcribed_before_its_window_ends_it() -> None:
    """The transcript comes late (a loaded machine): the window alone would have ended the turn at the
    hesitation; the words then say the user was mid-thought."""
    core = VoiceCore(AUTO)
    item_id, attempt = paused(core, 22)  # 704 ms of pause, no words yet
    assert STOPPED not in types(core.take())
    core.session.on_transcript(item_id, "Turn on the", 0.5, attempt=attempt)
    assert core.take() == []
    events, _ = core.hear((10, 0.9))  # "kitchen lights": the same turn goes on
    assert STOPPED not in types(events)


def test_finished_words_that_come_late_end_the_turn_when_they_come() -> None:
    core = VoiceCore(AUTO)
    item_id, attempt = paused(core, 22)
    core.session.on_transcript(item_id, "What time is it?", 0.5, attempt=attempt)
    assert types(core.take())[0] == STOPPED


def test_a_transcript_with_no_words_leaves_the_pause_to_the_window() -> None:
    core = VoiceCore(AUTO)
    item_id, attempt = paused(core, 22)
    core.session.on_transcript(item_id, "", 0.5, attempt=attempt)  # a breath: the window has passed
    assert types(core.take())[0] == STOPPED


def test_words_that_never_come_end_the_turn_at_the_unfinished_window() -> None:
    core = VoiceCore(AUTO)
    item_id, attempt = paused(core, 2)
    core.session.on_transcript_error(item_id, "engine crashed", attempt=attempt)
    events, _ = core.hear((34, 0.1))  # 1,152 ms of pause
    assert STOPPED not in types(events)
    events, _ = core.hear((2, 0.1))  # 1,216 ms
    assert types(events)[0] == STOPPED


def test_without_early_transcripts_the_window_alone_ends_the_turn() -> None:
    core = VoiceCore(AUTO)
    core.session.early_transcripts = False  # the daemon's early_transcripts: false
    events, effects = core.hear((5, 0.0), (20, 0.9), (18, 0.1))  # 576 ms of pause
    assert transcribes(effects) == [] and STOPPED not in types(events)
    events, _ = core.hear((2, 0.1))  # 640 ms
    assert types(events)[0] == STOPPED


def test_speech_resuming_forgets_the_words_of_the_last_pause() -> None:
    core = VoiceCore(AUTO)
    item_id, attempt = paused(core, 2)
    core.session.on_transcript(item_id, "Set a timer for it.", 0.5, attempt=attempt)
    _, effects = core.hear((10, 0.9), (2, 0.1))  # "ten minutes", and a pause again
    (early,) = transcribes(effects)
    core.session.on_transcript(early.item_id, "Set a timer for 10 minutes.", 0.5, attempt=early.attempt)
    assert STOPPED not in types(core.take())  # 64 ms of quiet
    events, _ = core.hear((3, 0.1))  # 160 ms
    assert types(events)[0] == STOPPED
