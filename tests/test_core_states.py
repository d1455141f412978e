"""The state table of core/states.py: complete, enforced, and followed by the parts that move states."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ovos_realtime_plugin.core.assistant import AssistantOutput, AssistantRequest, TextDelta, answer_of
from ovos_realtime_plugin.core.config import ServerVad
from ovos_realtime_plugin.core.states import (
    TRANSITIONS,
    IllegalMove,
    ItemStatus,
    ResponseStatus,
    TranscriptState,
    TurnState,
    move,
)
from ovos_realtime_plugin.core.turns import TurnDetector
from tests.test_core_sequences import Core


def test_every_state_of_every_machine_is_in_the_table_and_only_in_progress_states_move() -> None:
    for machine in (ResponseStatus, ItemStatus, TranscriptState, TurnState):
        assert set(TRANSITIONS[machine]) == set(machine)
        for targets in TRANSITIONS[machine].values():
            assert all(isinstance(target, machine) for target in targets)
    finals = {state for machine, table in TRANSITIONS.items() for state, targets in table.items() if not targets}
    assert finals == {ResponseStatus.COMPLETED, ResponseStatus.INCOMPLETE, ResponseStatus.CANCELLED,
                      ResponseStatus.FAILED, ItemStatus.COMPLETED, ItemStatus.INCOMPLETE, TranscriptState.DONE,
                      TranscriptState.FAILED}


def test_a_move_the_table_does_not_allow_is_an_error() -> None:
    assert move(ResponseStatus.IN_PROGRESS, ResponseStatus.CANCELLED) is ResponseStatus.CANCELLED
    with pytest.raises(IllegalMove, match="ResponseStatus: cancelled → completed"):
        move(ResponseStatus.CANCELLED, ResponseStatus.COMPLETED)
    with pytest.raises(IllegalMove):
        move(TurnState.IDLE, TurnState.PAUSED)  # a pause needs speech first


def test_a_finished_response_ignores_late_outputs_and_its_status_stays() -> None:
    core = Core()
    core.send({"type": "response.create"})
    stream = next(iter(core.session.responses.values()))
    core.effects()
    core.session.on_assistant_output(stream.id, TextDelta("Hello."))
    core.session.on_assistant_end(stream.id)
    assert stream.status is ResponseStatus.COMPLETED and stream.output[0].status is ItemStatus.COMPLETED
    core.take()
    stream.feed(TextDelta("late"))
    stream.end()
    stream.stop(ResponseStatus.CANCELLED, {})
    assert stream.status is ResponseStatus.COMPLETED and core.take() == []


def test_the_turn_detector_moves_idle_speaking_paused_speaking_paused_idle() -> None:
    detector = TurnDetector(ServerVad(type="server_vad", silence_duration_ms=96, prefix_padding_ms=0))
    seen = [detector.state]
    for index, probability in enumerate([0.9, 0.9, 0.9, 0.1, 0.1, 0.9, 0.9, 0.1, 0.1, 0.1]):
        detector.frame(index * 32, index * 32 + 32, probability)
        if detector.state is not seen[-1]:
            seen.append(detector.state)
    assert seen == [TurnState.IDLE, TurnState.SPEAKING, TurnState.PAUSED, TurnState.SPEAKING, TurnState.PAUSED,
                    TurnState.IDLE]


class Closing:
    """An assistant whose answer records being closed (an LLM's HTTP stream, a skill's turn)."""

    def __init__(self) -> None:
        self.closed = False

    async def respond(self, request: AssistantRequest) -> AsyncIterator[AssistantOutput]:
        try:
            for word in ("one ", "two ", "three"):
                yield TextDelta(word)
        finally:
            self.closed = True


async def test_answer_of_closes_the_assistants_answer_when_the_reader_stops() -> None:
    assistant = Closing()
    request = AssistantRequest(response_id="resp_1", items=(), instructions="", tools=(), tool_choice="auto",
                               output_modalities=("text",), max_output_tokens=None, temperature=None,
                               parallel_tool_calls=True, metadata=None, language=None, voice="alloy",
                               session_id="sess_1")
    answer = answer_of(assistant, request)
    first = await answer.__anext__()
    assert first == TextDelta("one ") and not assistant.closed
    await answer.aclose()
    assert assistant.closed
