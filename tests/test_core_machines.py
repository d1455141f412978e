"""Each owner's machine is the thing that changes: responses, output items, transcripts, early attempts and the
user turn hold their state in a ``Machine``, and nothing beside it; a result entering the core never calls back
into the session from inside one of its parts.

Scripted against the sans-I/O core, as the speech driver and the assistant runner would drive it.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from ovos_realtime_plugin.core.assistant import FunctionCallStart, TextDelta
from ovos_realtime_plugin.core.effects import RunAssistant
from ovos_realtime_plugin.core.states import (
    EarlyState,
    EarlyTrigger,
    IllegalMove,
    ItemStatus,
    ItemTrigger,
    ResponseState,
    ResponseStatus,
    ResponseTrigger,
    TranscriptState,
    TranscriptTrigger,
    TurnState,
    TurnTrigger,
)
from ovos_realtime_plugin.core.transcripts import EarlyTranscript
from tests.sdk_helpers import types
from tests.test_core_sequences import Core, pcm_ms, synthesized
from tests.test_core_transcripts import SERVER_VAD, VoiceCore, transcribes


def only_response(core: Core) -> Any:
    (stream,) = core.session.responses.values()
    return stream


def test_a_cancelled_responses_machine_is_cancelled_and_moves_no_more() -> None:
    core = Core()
    core.respond()
    stream = only_response(core)
    core.output(stream.id, TextDelta("Hello"))
    assert stream.life.state is ResponseState.RUNNING and stream.status is ResponseStatus.IN_PROGRESS
    core.send({"type": "response.cancel"})
    assert stream.life.state is ResponseState.CANCELLED and stream.status is ResponseStatus.CANCELLED
    for trigger in ResponseTrigger:
        with pytest.raises(IllegalMove):
            stream.life.fire(trigger)
    (item,) = stream.output
    assert item.life.state is ItemStatus.INCOMPLETE and item.status == "incomplete"


def committed_audio(core: VoiceCore) -> str:
    """Audio the client commits itself; its transcript is asked for."""
    core.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm_ms(300, 100)).decode()})
    events = core.send({"type": "input_audio_buffer.commit"})
    item_id: str = events[0]["item_id"]
    assert [t.item_id for t in transcribes(core.effects())] == [item_id]
    return item_id


def test_a_response_waits_in_its_machine_for_its_contexts_transcript_and_the_transcript_ends_in_its_own() -> None:
    core = VoiceCore({**SERVER_VAD, "create_response": False})
    item_id = committed_audio(core)
    transcript = core.session.transcripts.pending[item_id]
    assert transcript.state is TranscriptState.WAITING
    core.send({"type": "response.create"})
    stream = only_response(core)
    assert stream.life.state is ResponseState.WAITING and core.effects() == []
    core.session.on_transcript(item_id, "hello", 0.3)
    assert transcript.state is TranscriptState.DONE and item_id not in core.session.transcripts.pending
    with pytest.raises(IllegalMove):
        transcript.fire(TranscriptTrigger.RESULT)
    assert stream.life.state is ResponseState.RUNNING
    assert [type(e) for e in core.effects()] == [RunAssistant]


def test_a_response_whose_transcript_failed_fails_from_waiting_without_running() -> None:
    core = VoiceCore({**SERVER_VAD, "create_response": False})
    item_id = committed_audio(core)
    core.send({"type": "response.create"})
    stream = only_response(core)
    core.session.on_transcript_error(item_id, "the engine fell over")
    assert stream.life.state is ResponseState.FAILED and core.effects() == []


def test_a_response_is_held_while_its_audio_item_is_spoken_and_later_outputs_wait() -> None:
    core = Core("audio")
    rid = core.respond().request.response_id
    stream = only_response(core)
    core.output(rid, TextDelta("Hello there."), FunctionCallStart("get_time", "call_1"))
    (job,) = synthesized(core.effects())
    assert stream.life.state is ResponseState.HELD
    assert len(stream.output) == 1 and stream.output[0].status is ItemStatus.IN_PROGRESS  # the call waits
    core.session.on_speech_end(rid, job.item_id, job.seq)
    assert stream.life.state is ResponseState.RUNNING and stream.output[0].life.state is ItemStatus.COMPLETED
    assert [item.type for item in stream.output] == ["message", "function_call"]
    core.end(rid)
    assert stream.life.state is ResponseState.COMPLETED


def test_an_items_status_moves_only_as_its_table_allows() -> None:
    core = Core()
    core.item({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]})
    (item,) = core.session.conversation.items
    assert item.life.state is ItemStatus.COMPLETED
    with pytest.raises(IllegalMove):
        item.life.fire(ItemTrigger.CUT)
    with pytest.raises(IllegalMove):
        item.status = "in_progress"  # type: ignore[assignment]
    assert item.status is ItemStatus.COMPLETED


def early_attempt(core: VoiceCore) -> EarlyTranscript:
    early = core.session.transcripts._early
    assert early is not None
    return early


@pytest.mark.parametrize("result_first", [True, False])
def test_an_early_attempt_is_applied_once_both_its_result_and_the_commit_came(result_first: bool) -> None:
    core = VoiceCore()
    _, effects = core.hear((5, 0.0), (20, 0.9), (2, 0.1))
    (job,) = transcribes(effects)
    early = early_attempt(core)
    assert early.life.state is EarlyState.ASKED
    if result_first:
        core.session.on_transcript(job.item_id, "turn it up", 0.7, attempt=job.attempt)
        assert early.life.state is EarlyState.HEARD
        core.hear((10, 0.1))  # the silence window passes
    else:
        core.hear((10, 0.1))
        assert early.life.state is EarlyState.COMMITTED
        assert core.session.pending_transcripts == {job.item_id: TranscriptState.EARLY}
        core.session.on_transcript(job.item_id, "turn it up", 0.7, attempt=job.attempt)
    assert early.life.state is EarlyState.APPLIED and core.session.pending_transcripts == {}
    assert core.session.conversation.get(job.item_id).content[0].transcript == "turn it up"
    with pytest.raises(IllegalMove):
        early.life.fire(EarlyTrigger.RESULT)


def test_words_that_end_a_semantic_turn_move_the_turns_machine() -> None:
    core = VoiceCore({"type": "semantic_vad", "eagerness": "low"})
    _, effects = core.hear((5, 0.0), (20, 0.9), (6, 0.1))
    detector = core.session.detector
    assert detector is not None and detector.turn.state is TurnState.PAUSED
    (job,) = transcribes(effects)
    core.session.on_transcript(job.item_id, "What time is it?", 0.7, attempt=job.attempt)
    assert types(core.take())[0] == "input_audio_buffer.speech_stopped"
    assert detector.turn.state is TurnState.IDLE and detector.state is TurnState.IDLE
    with pytest.raises(IllegalMove):
        detector.turn.fire(TurnTrigger.END)


def test_clearing_the_buffer_resets_the_turn_through_its_machine() -> None:
    core = VoiceCore()
    core.hear((5, 0.0), (20, 0.9))
    detector = core.session.detector
    assert detector is not None and detector.turn.state is TurnState.SPEAKING
    core.send({"type": "input_audio_buffer.clear"})
    assert detector.turn.state is TurnState.IDLE


# -- no re-entrant chains -----------------------------------------------------------------------------------------
CORE = Path(__file__).resolve().parent.parent / "ovos_realtime_plugin" / "core"
ASKED_OF_THE_SESSION = {"emit", "effect", "error", "follow_up", "responding", "response_spec", "config",
                        "conversation", "language", "model", "early_transcripts", "session_limits", "buffer",
                        "segments"}
"""What a part may ask of its session: its sinks and its settings, never an action of another part."""
OWNERS = {
    str(CORE / "session.py"): (ASKED_OF_THE_SESSION, {str(CORE / name) for name in (
        "input_audio.py", "transcripts.py", "turns.py", "response_stream.py", "responder.py")}),
    str(CORE / "responder.py"): (set(), {str(CORE / "response_stream.py")}),
}
"""Each owner, what its parts may ask of it, and its parts."""
ANY = {"__init__", "<lambda>", "<genexpr>", "<dictcomp>", "<listcomp>", "<setcomp>"}


@contextmanager
def calls_back_into_an_owner() -> Iterator[list[str]]:
    """Every call of an owner's (the session, the responder) made while one of its parts is running, except what a
    part may ask of it."""
    seen: list[str] = []

    def profile(frame: FrameType, event: str, _: Any) -> None:
        code = frame.f_code
        owner = OWNERS.get(code.co_filename)
        if event != "call" or owner is None or code.co_name in ANY or code.co_name in owner[0]:
            return
        caller = frame.f_back
        while caller is not None:
            if caller.f_code.co_filename in owner[1]:
                seen.append(f"{Path(caller.f_code.co_filename).name}:{caller.f_code.co_name} → "
                            f"{Path(code.co_filename).name}:{code.co_name}")
                return
            caller = caller.f_back

    sys.setprofile(profile)
    try:
        yield seen
    finally:
        sys.setprofile(None)


@pytest.mark.parametrize("turn_detection", [SERVER_VAD, {"type": "semantic_vad", "eagerness": "low"}])
def test_a_spoken_turn_and_a_barge_in_never_call_back_into_an_owner_from_its_part(
        turn_detection: dict[str, Any]) -> None:
    core = VoiceCore(turn_detection)
    with calls_back_into_an_owner() as seen:
        _, effects = core.hear((5, 0.0), (20, 0.9), (6, 0.1))
        (job,) = transcribes(effects)
        core.session.on_transcript(job.item_id, "What time is it?", 0.7, attempt=job.attempt)
        events, effects = core.hear((12, 0.1))
        events += core.take()
        run = [e for e in effects + core.effects() if isinstance(e, RunAssistant)]
        assert len(run) == 1
        rid = run[0].request.response_id
        core.session.on_assistant_output(rid, TextDelta("It is noon"))
        barge_in, _ = core.hear((20, 0.9))  # the user talks over the answer: it is cancelled
    assert seen == []
    assert "response.done" in types(barge_in) and no_response_left(core)


def no_response_left(core: VoiceCore) -> bool:
    return core.session.responses == {} and core.session.active_response() is None
