"""Every state machine of a Realtime session, in one place.

Each machine is an enum of states, an enum of triggers, and one table ``(state, trigger) → next state``.
A :class:`Machine` *holds* its state: the parts of the core keep one instead of flags, and every change goes
through :meth:`Machine.fire`, so a trigger the table does not list for the current state is a bug that fails
loudly (:class:`IllegalMove`) instead of leaving a response or a transcript half-finished.

| machine       | states                                                                 | held by                |
|---------------|------------------------------------------------------------------------|------------------------|
| response      | waiting → running ⇄ held → completed / incomplete / cancelled / failed | ``response_stream.py`` |
| output item   | in_progress → completed / incomplete                                   | ``items.py``           |
| transcript    | waiting / early → done / failed                                        | ``transcripts.py``     |
| early attempt | asked → heard / committed → applied                                    | ``transcripts.py``     |
| user turn     | idle → speaking ⇄ paused → idle                                        | ``turns.py``           |

A client sees a response's ``waiting``, ``running`` and ``held`` all as ``in_progress`` (:data:`RESPONSE_STATUS`)
and an item's states as its ``status``; the other machines are not on the wire. docs/ARCHITECTURE.md renders these
tables (``tests/test_state_tables.py`` keeps the two the same).
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Generic, TypeVar

S = TypeVar("S", bound=Enum)
T = TypeVar("T", bound=Enum)

Table = dict[tuple[S, T], S]
"""(state, trigger) → the state it leads to; a pair not listed is an illegal move."""


class IllegalMove(RuntimeError):
    """A trigger the table does not allow in the current state: a bug in the core."""


class Machine(Generic[S, T]):
    """The current state of one thing (a response, an item, a turn, ...) and the only way to change it."""

    __slots__ = ("_state", "table")

    def __init__(self, table: Table[S, T], state: S) -> None:
        self.table = table
        self._state = state

    @property
    def state(self) -> S:
        return self._state

    def fire(self, trigger: T) -> S:
        """Move by ``trigger``; the new state. :class:`IllegalMove` if the table has no such move."""
        try:
            self._state = self.table[self._state, trigger]
        except KeyError:
            raise IllegalMove(f"{type(self._state).__name__}: {trigger.value} is not allowed in "
                              f"{self._state.value}") from None
        return self._state

    def allows(self, trigger: T) -> bool:
        return (self.state, trigger) in self.table

    def __repr__(self) -> str:
        return f"Machine({self.state!r})"


# -- response ----------------------------------------------------------------------------------------------------
class ResponseStatus(str, Enum):
    """A response's status as clients see it (``response.status``)."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"  # max_output_tokens, or the assistant said so
    CANCELLED = "cancelled"  # response.cancel, or the user's turn interrupted it
    FAILED = "failed"  # the assistant raised, or the words it answers could not be transcribed


class ResponseState(str, Enum):
    WAITING = "waiting"  # created; its assistant starts once every transcript of its context has ended
    RUNNING = "running"  # the assistant was asked; its outputs are applied as they come
    HELD = "held"  # an audio item is closing: later outputs queue until its last sentences are spoken
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"
    CANCELLED = "cancelled"
    FAILED = "failed"


class ResponseTrigger(str, Enum):
    START = "start"  # no transcript of its context is still awaited: RunAssistant
    HOLD = "hold"  # an audio item closes with sentences still being synthesized
    RELEASE = "release"  # that item's last sentence was spoken
    COMPLETE = "complete"  # the assistant's last output was applied
    RUN_OUT = "run_out"  # ... and it ran out of output tokens, or said it was incomplete
    CANCEL = "cancel"
    FAIL = "fail"


_R, _RT = ResponseState, ResponseTrigger
RESPONSE: Table[ResponseState, ResponseTrigger] = {
    (_R.WAITING, _RT.START): _R.RUNNING,
    (_R.WAITING, _RT.CANCEL): _R.CANCELLED,
    (_R.WAITING, _RT.FAIL): _R.FAILED,
    (_R.RUNNING, _RT.HOLD): _R.HELD,
    (_R.RUNNING, _RT.COMPLETE): _R.COMPLETED,
    (_R.RUNNING, _RT.RUN_OUT): _R.INCOMPLETE,
    (_R.RUNNING, _RT.CANCEL): _R.CANCELLED,
    (_R.RUNNING, _RT.FAIL): _R.FAILED,
    (_R.HELD, _RT.RELEASE): _R.RUNNING,
    (_R.HELD, _RT.CANCEL): _R.CANCELLED,
    (_R.HELD, _RT.FAIL): _R.FAILED,
}

RESPONSE_STATUS: dict[ResponseState, ResponseStatus] = {
    _R.WAITING: ResponseStatus.IN_PROGRESS, _R.RUNNING: ResponseStatus.IN_PROGRESS,
    _R.HELD: ResponseStatus.IN_PROGRESS, _R.COMPLETED: ResponseStatus.COMPLETED,
    _R.INCOMPLETE: ResponseStatus.INCOMPLETE, _R.CANCELLED: ResponseStatus.CANCELLED,
    _R.FAILED: ResponseStatus.FAILED,
}
"""What a client sees of each response state."""


# -- output item -------------------------------------------------------------------------------------------------
class ItemStatus(str, Enum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"  # its response was cancelled or failed while it streamed


class ItemTrigger(str, Enum):
    DONE = "done"  # all of it was streamed (and, for audio, spoken)
    CUT = "cut"  # its response stopped while it streamed


ITEM: Table[ItemStatus, ItemTrigger] = {
    (ItemStatus.IN_PROGRESS, ItemTrigger.DONE): ItemStatus.COMPLETED,
    (ItemStatus.IN_PROGRESS, ItemTrigger.CUT): ItemStatus.INCOMPLETE,
}


# -- transcript of a committed user audio item -------------------------------------------------------------------
class TranscriptState(str, Enum):
    WAITING = "waiting"  # a Transcribe effect is out for the committed item
    EARLY = "early"  # the turn's early attempt (started at the pause) will be the item's transcript
    DONE = "done"
    FAILED = "failed"


class TranscriptTrigger(str, Enum):
    RESULT = "result"
    ERROR = "error"


TRANSCRIPT: Table[TranscriptState, TranscriptTrigger] = {
    (TranscriptState.WAITING, TranscriptTrigger.RESULT): TranscriptState.DONE,
    (TranscriptState.WAITING, TranscriptTrigger.ERROR): TranscriptState.FAILED,
    (TranscriptState.EARLY, TranscriptTrigger.RESULT): TranscriptState.DONE,
    (TranscriptState.EARLY, TranscriptTrigger.ERROR): TranscriptState.FAILED,
}


# -- early attempt: the transcript started at the user's pause ---------------------------------------------------
class EarlyState(str, Enum):
    ASKED = "asked"  # a speculative Transcribe is out; the turn has not ended
    HEARD = "heard"  # its result (or error) came while the turn was still open: kept for the commit
    COMMITTED = "committed"  # the turn ended before its result: the result will be the item's transcript
    APPLIED = "applied"  # result and commit both came: it became the item's transcript


class EarlyTrigger(str, Enum):
    RESULT = "result"  # the engine answered (words or an error)
    COMMIT = "commit"  # the turn ended here and its item committed


EARLY: Table[EarlyState, EarlyTrigger] = {
    (EarlyState.ASKED, EarlyTrigger.RESULT): EarlyState.HEARD,
    (EarlyState.ASKED, EarlyTrigger.COMMIT): EarlyState.COMMITTED,
    (EarlyState.HEARD, EarlyTrigger.COMMIT): EarlyState.APPLIED,
    (EarlyState.COMMITTED, EarlyTrigger.RESULT): EarlyState.APPLIED,
}


# -- user turn ---------------------------------------------------------------------------------------------------
class TurnState(str, Enum):
    IDLE = "idle"
    SPEAKING = "speaking"
    PAUSED = "paused"  # silence started; the turn ends if it lasts the silence window


class TurnTrigger(str, Enum):
    SPEECH = "speech"  # enough voiced frames: SpeechStarted
    PAUSE = "pause"  # quiet long enough to tell: SilenceStarted
    RESUME = "resume"  # voiced long enough inside a pause: SpeechResumed
    END = "end"  # the silence window passed (or finished words were followed by enough quiet): SpeechStopped
    RESET = "reset"  # the buffer was cleared or the detector made afresh


TURN: Table[TurnState, TurnTrigger] = {
    (TurnState.IDLE, TurnTrigger.SPEECH): TurnState.SPEAKING,
    (TurnState.IDLE, TurnTrigger.RESET): TurnState.IDLE,
    (TurnState.SPEAKING, TurnTrigger.PAUSE): TurnState.PAUSED,
    (TurnState.SPEAKING, TurnTrigger.END): TurnState.IDLE,  # a silence window shorter than a pause takes to tell
    (TurnState.SPEAKING, TurnTrigger.RESET): TurnState.IDLE,
    (TurnState.PAUSED, TurnTrigger.RESUME): TurnState.SPEAKING,
    (TurnState.PAUSED, TurnTrigger.END): TurnState.IDLE,
    (TurnState.PAUSED, TurnTrigger.RESET): TurnState.IDLE,
}


TABLES: dict[str, tuple[type[Enum], type[Enum], dict[Any, Any]]] = {
    "response": (ResponseState, ResponseTrigger, RESPONSE),
    "output item": (ItemStatus, ItemTrigger, ITEM),
    "transcript": (TranscriptState, TranscriptTrigger, TRANSCRIPT),
    "early attempt": (EarlyState, EarlyTrigger, EARLY),
    "user turn": (TurnState, TurnTrigger, TURN),
}
"""Every machine: its states, its triggers and its table."""


# -- which states may follow which: the tables seen without their triggers ---------------------------------------
def _follows(table: dict[Any, Any], states: type[Enum],
             view: dict[Any, Any] | None = None) -> dict[Any, frozenset[Any]]:
    """state → the states some trigger leads it to (seen through ``view``, a state → what a client sees)."""
    shown = view or {state: state for state in states}
    follows: dict[Any, set[Any]] = {shown[state]: set() for state in states}
    for (state, _), new in table.items():
        if shown[new] is not shown[state]:
            follows[shown[state]].add(shown[new])
    return {state: frozenset(targets) for state, targets in follows.items()}


TRANSITIONS: dict[type[Enum], dict[Any, frozenset[Any]]] = {
    ResponseStatus: _follows(RESPONSE, ResponseState, RESPONSE_STATUS),
    ItemStatus: _follows(ITEM, ItemStatus),
    TranscriptState: _follows(TRANSCRIPT, TranscriptState),
    TurnState: _follows(TURN, TurnState),
}
"""What a client (or a reader) sees of the tables: state → the states that may follow it; a state with none is
final. Derived from the tables above, never kept by hand."""

V = TypeVar("V", bound=Enum)


def move(current: V, new: V) -> V:
    """``new``, if some trigger leads from ``current`` to it; else :class:`IllegalMove`."""
    if new not in TRANSITIONS[type(current)][current]:
        raise IllegalMove(f"{type(current).__name__}: {current.value} → {new.value} is not allowed")
    return new
