"""Every state of the OVOS side, and every move between them, in one place.

Each machine is an enum of states, an enum of triggers and one table ``(state, trigger) → next state``. The object
that has the state *holds* the core's :class:`~ovos_realtime_plugin.core.states.Machine` and changes only through
its ``fire``; a trigger its table has no row for in the current state raises ``IllegalMove`` instead of leaving a
turn half-followed.

| machine          | held by                                          | moved by                                  |
|------------------|--------------------------------------------------|-------------------------------------------|
| the OVOS turn    | :class:`~.turns.Turn` (one utterance on the bus) | its messages, the response following them |
| skills available | :class:`SkillsAvailability` (the bus connection) | :mod:`.supervisor` (read: turns, healthz) |

**The OVOS turn.** A response's utterance (or a direct intent run) starts ``RUNNING``; an early answer's
starts ``MATCHING`` (:mod:`.early_answer`) and runs once a response takes it.

| state      | what it means                                                                                          |
|------------|--------------------------------------------------------------------------------------------------------|
| MATCHING   | early: the intent service is asked which skill would answer; the words are not on the bus              |
| PREPARED   | early: the words are on the bus, for a skill that only answers; no response has taken them             |
| DROPPED    | early: nobody will hear it (other words, the next pause, the bus dropped); its speaks are acknowledged |
| RUNNING    | the words are on the bus and a response (or intent run) follows their messages                         |
| QUESTION   | ... and a skill asked a question: the turn waits out the grace window                                  |
| NO_MATCH   | ... and OVOS matched no intent: its ``handled`` ends the turn at once                                  |
| HANDED     | OVOS handed the words to our fallback skill: the fallback answers; no more messages are read           |
| ANSWERED   | the messages ended (``handled``, and the grace window after it)                                        |
| ASKED      | the messages ended after a question: the next utterance goes to converse                               |
| UNMATCHED  | the messages ended with no intent matched: the unknown line (or the fallback) answers                  |
| STOPPED    | ended early (cancelled, closed, timed out): OVOS was told to stop                                      |

A question outranks a failure to match: once a skill has asked, the turn waits for the answer's grace window
whatever else arrives (a skill answering a question speaks from the asking turn's context, so its speech can
reach a later turn that OVOS matched nothing in). A handoff to our fallback skill ends the turn ``HANDED`` whatever
was heard before it: the fallback's answer is the turn's last word, so no question is left open.

**Skills available.** Up unless the standalone daemon's skills service exited: then down (turns fail at once,
``/healthz`` 503) until a restart has started it and its intents are learnt again.
"""

from __future__ import annotations

from enum import Enum

from ovos_realtime_plugin.core.states import Machine, Table


# -- the OVOS turn ---------------------------------------------------------------------------------------------
class TurnState(str, Enum):
    MATCHING = "matching"
    PREPARED = "prepared"
    DROPPED = "dropped"
    RUNNING = "running"
    QUESTION = "question"
    NO_MATCH = "no_match"
    HANDED = "handed"
    ANSWERED = "answered"
    ASKED = "asked"
    UNMATCHED = "unmatched"
    STOPPED = "stopped"


class TurnTrigger(str, Enum):
    SENT = "sent"  # an early answer's words went onto the bus
    TAKEN = "taken"  # a response took the prepared turn over
    DROPPED = "dropped"  # the prepared turn will not be heard
    ASKED = "asked"  # ``speak {expect_response: true}``
    NOT_MATCHED = "not_matched"  # ``complete_intent_failure`` (either spelling)
    HANDED = "handed"  # ``ovos.skills.fallback.<ours>.request``
    ENDED = "ended"  # the messages ended as they should
    STOPPED = "stopped"  # cancelled, closed or timed out first: ``mycroft.stop``


FOLLOWING = frozenset({TurnState.RUNNING, TurnState.QUESTION, TurnState.NO_MATCH})
"""A response follows the turn's messages: ending early stops what OVOS still does for it."""

TURN_TABLE: Table[TurnState, TurnTrigger] = {
    (TurnState.MATCHING, TurnTrigger.SENT): TurnState.PREPARED,
    (TurnState.MATCHING, TurnTrigger.DROPPED): TurnState.DROPPED,
    (TurnState.PREPARED, TurnTrigger.DROPPED): TurnState.DROPPED,
    (TurnState.PREPARED, TurnTrigger.TAKEN): TurnState.RUNNING,
    (TurnState.RUNNING, TurnTrigger.ASKED): TurnState.QUESTION,
    (TurnState.RUNNING, TurnTrigger.NOT_MATCHED): TurnState.NO_MATCH,
    (TurnState.RUNNING, TurnTrigger.HANDED): TurnState.HANDED,
    (TurnState.RUNNING, TurnTrigger.ENDED): TurnState.ANSWERED,
    (TurnState.RUNNING, TurnTrigger.STOPPED): TurnState.STOPPED,
    (TurnState.QUESTION, TurnTrigger.ASKED): TurnState.QUESTION,
    (TurnState.QUESTION, TurnTrigger.NOT_MATCHED): TurnState.QUESTION,
    (TurnState.QUESTION, TurnTrigger.HANDED): TurnState.HANDED,
    (TurnState.QUESTION, TurnTrigger.ENDED): TurnState.ASKED,
    (TurnState.QUESTION, TurnTrigger.STOPPED): TurnState.STOPPED,
    (TurnState.NO_MATCH, TurnTrigger.ASKED): TurnState.QUESTION,
    (TurnState.NO_MATCH, TurnTrigger.NOT_MATCHED): TurnState.NO_MATCH,
    (TurnState.NO_MATCH, TurnTrigger.HANDED): TurnState.HANDED,
    (TurnState.NO_MATCH, TurnTrigger.ENDED): TurnState.UNMATCHED,
    (TurnState.NO_MATCH, TurnTrigger.STOPPED): TurnState.STOPPED,
}


# -- skills available --------------------------------------------------------------------------------------------
class SkillsState(str, Enum):
    UP = "up"
    DOWN = "down"  # exited; waiting out the back-off before the next start
    RESTARTING = "restarting"  # started again; up once it is ready and its intents are learnt


class SkillsTrigger(str, Enum):
    EXITED = "exited"
    RESTART = "restart"
    START_FAILED = "start_failed"
    READY = "ready"


SKILLS_TABLE: Table[SkillsState, SkillsTrigger] = {
    (SkillsState.UP, SkillsTrigger.EXITED): SkillsState.DOWN,
    (SkillsState.DOWN, SkillsTrigger.RESTART): SkillsState.RESTARTING,
    (SkillsState.RESTARTING, SkillsTrigger.START_FAILED): SkillsState.DOWN,
    (SkillsState.RESTARTING, SkillsTrigger.READY): SkillsState.UP,
}


class SkillsAvailability:
    """Whether the skills behind a bus connection can answer now, and if not, why. Up unless someone supervises
    the skills service (:mod:`.supervisor`, the only one to move it)."""

    def __init__(self) -> None:
        self._machine: Machine[SkillsState, SkillsTrigger] = Machine(SKILLS_TABLE, SkillsState.UP)
        self._reason: str | None = None

    @property
    def state(self) -> SkillsState:
        return self._machine.state

    @property
    def down_reason(self) -> str | None:
        """Why the skills cannot answer; ``None`` while they are up."""
        return None if self._machine.state is SkillsState.UP else self._reason

    def fire(self, trigger: SkillsTrigger, reason: str | None = None) -> SkillsState:
        """Move by ``trigger``; ``reason`` says why the skills went down (:attr:`SkillsTrigger.EXITED`) and
        stands until they are up again."""
        state = self._machine.fire(trigger)
        if trigger is SkillsTrigger.EXITED:
            self._reason = reason or "the OVOS skills service exited"
        return state
