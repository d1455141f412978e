"""Every state of a Realtime session, and every move between them, in one place.

Read top to bottom: each machine is an enum of states and a table ``state → states it may move to``.
The parts of the core move only through :func:`move`, so a move this table does not allow is a bug
that fails loudly (``IllegalMove``) instead of leaving a response or transcript half-finished.

| machine    | states                                                          | owner               |
|------------|-----------------------------------------------------------------|---------------------|
| response   | in_progress → completed / incomplete / cancelled / failed       | ``responses.py``    |
| item       | in_progress → completed / incomplete                            | ``responses.py``    |
| transcript | waiting / early → done / failed                                 | ``transcripts.py``  |
| turn       | idle → speaking ⇄ paused → idle (turn ends: the item commits)   | ``turns.py``        |

A response also *waits* before it runs: it is created ``in_progress`` and its assistant starts only once
no item of its context still has a transcript ``waiting``/``early`` (:mod:`.session`,
``start_ready_responses``).
"""

from __future__ import annotations

from enum import Enum
from typing import Any, TypeVar


class ResponseStatus(str, Enum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"  # max_output_tokens, or the assistant said so
    CANCELLED = "cancelled"  # response.cancel, or the user's turn interrupted it
    FAILED = "failed"  # the assistant raised


class ItemStatus(str, Enum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"  # its response was cancelled or failed while it streamed


class TranscriptState(str, Enum):
    WAITING = "waiting"  # a Transcribe effect is out for the committed item
    EARLY = "early"  # the turn's early attempt (started at the pause) will be the item's transcript
    DONE = "done"
    FAILED = "failed"


class TurnState(str, Enum):
    IDLE = "idle"
    SPEAKING = "speaking"
    PAUSED = "paused"  # silence started; the turn ends if it lasts the silence window


_FINAL: frozenset[Any] = frozenset()

TRANSITIONS: dict[type[Enum], dict[Any, frozenset[Any]]] = {
    ResponseStatus: {
        ResponseStatus.IN_PROGRESS: frozenset({ResponseStatus.COMPLETED, ResponseStatus.INCOMPLETE,
                                               ResponseStatus.CANCELLED, ResponseStatus.FAILED}),
        ResponseStatus.COMPLETED: _FINAL,
        ResponseStatus.INCOMPLETE: _FINAL,
        ResponseStatus.CANCELLED: _FINAL,
        ResponseStatus.FAILED: _FINAL,
    },
    ItemStatus: {
        ItemStatus.IN_PROGRESS: frozenset({ItemStatus.COMPLETED, ItemStatus.INCOMPLETE}),
        ItemStatus.COMPLETED: _FINAL,
        ItemStatus.INCOMPLETE: _FINAL,
    },
    TranscriptState: {
        TranscriptState.WAITING: frozenset({TranscriptState.DONE, TranscriptState.FAILED}),
        TranscriptState.EARLY: frozenset({TranscriptState.DONE, TranscriptState.FAILED}),
        TranscriptState.DONE: _FINAL,
        TranscriptState.FAILED: _FINAL,
    },
    TurnState: {
        TurnState.IDLE: frozenset({TurnState.SPEAKING}),
        TurnState.SPEAKING: frozenset({TurnState.PAUSED, TurnState.IDLE}),
        TurnState.PAUSED: frozenset({TurnState.SPEAKING, TurnState.IDLE}),
    },
}
"""machine → (state → the states it may move to); a state with none is final."""

S = TypeVar("S", bound=Enum)


class IllegalMove(RuntimeError):
    """A move the table does not allow: a bug in the core."""


def move(current: S, new: S) -> S:
    """``new``, if the table allows ``current → new``; else :class:`IllegalMove`."""
    if new not in TRANSITIONS[type(current)][current]:
        raise IllegalMove(f"{type(current).__name__}: {current.value} → {new.value} is not allowed")
    return new
