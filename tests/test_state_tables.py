"""Every row of every state table of core/states.py, every pair it leaves out, and the docs that show them."""

from __future__ import annotations

from enum import Enum
from itertools import product
from pathlib import Path
from typing import Any

import pytest

from ovos_realtime_plugin.core.states import (
    RESPONSE,
    RESPONSE_STATUS,
    TABLES,
    TRANSITIONS,
    IllegalMove,
    Machine,
    ResponseState,
    ResponseStatus,
)

ARCHITECTURE = Path(__file__).resolve().parent.parent / "docs" / "ARCHITECTURE.md"

ROWS = [(name, state, trigger, new) for name, (_, _, table) in TABLES.items()
        for (state, trigger), new in table.items()]
MISSING = [(name, state, trigger) for name, (states, triggers, table) in TABLES.items()
           for state, trigger in product(states, triggers) if (state, trigger) not in table]


@pytest.mark.parametrize(("name", "state", "trigger", "new"), ROWS,
                         ids=[f"{r[0]}:{r[1].value}+{r[2].value}" for r in ROWS])
def test_each_row_moves_its_machine_to_the_next_state(name: str, state: Enum, trigger: Enum, new: Enum) -> None:
    machine: Machine[Any, Any] = Machine(TABLES[name][2], state)
    assert machine.allows(trigger)
    assert machine.fire(trigger) is new and machine.state is new


@pytest.mark.parametrize(("name", "state", "trigger"), MISSING,
                         ids=[f"{m[0]}:{m[1].value}+{m[2].value}" for m in MISSING])
def test_each_pair_the_table_leaves_out_raises_and_keeps_the_state(name: str, state: Enum, trigger: Enum) -> None:
    machine: Machine[Any, Any] = Machine(TABLES[name][2], state)
    assert not machine.allows(trigger)
    with pytest.raises(IllegalMove, match=f"{trigger.value} is not allowed in {state.value}"):
        machine.fire(trigger)
    assert machine.state is state


def test_every_state_and_trigger_of_every_machine_is_used_and_the_tables_are_typed() -> None:
    for states, triggers, table in TABLES.values():
        assert {s for s, _ in table} | set(table.values()) == set(states)
        assert {t for _, t in table} == set(triggers)
        assert all(isinstance(s, states) and isinstance(t, triggers) and isinstance(n, states)
                   for (s, t), n in table.items())


def test_the_final_states_are_those_with_no_row() -> None:
    finals = {name: {s for s in states if not any(k == s for k, _ in table)}
              for name, (states, _, table) in TABLES.items()}
    assert {s.value for s in finals["response"]} == {"completed", "incomplete", "cancelled", "failed"}
    assert {s.value for s in finals["output item"]} == {"completed", "incomplete"}
    assert {s.value for s in finals["transcript"]} == {"done", "failed"}
    assert {s.value for s in finals["early attempt"]} == {"applied"}
    assert finals["user turn"] == set()  # a turn ends in idle, ready for the next


def test_clients_see_a_response_in_progress_until_it_ends() -> None:
    unfinished = {state for state, _ in RESPONSE}
    assert {RESPONSE_STATUS[state] for state in unfinished} == {ResponseStatus.IN_PROGRESS}
    assert all(RESPONSE_STATUS[state].value == state.value for state in set(ResponseState) - unfinished)
    assert TRANSITIONS[ResponseStatus][ResponseStatus.IN_PROGRESS] == {
        ResponseStatus.COMPLETED, ResponseStatus.INCOMPLETE, ResponseStatus.CANCELLED, ResponseStatus.FAILED}


def markdown(name: str) -> str:
    """The table of machine ``name`` as docs/ARCHITECTURE.md shows it."""
    states, triggers, table = TABLES[name]
    lines = [f"| {name}: state | trigger | next state |", "|---|---|---|"]
    lines += [f"| `{s.value}` | `{t.value}` | `{n.value}` |" for (s, t), n in table.items()]
    return "\n".join(lines)


@pytest.mark.parametrize("name", list(TABLES))
def test_the_architecture_doc_shows_each_table_as_the_code_has_it(name: str) -> None:
    assert markdown(name) in ARCHITECTURE.read_text(encoding="utf-8"), \
        f"docs/ARCHITECTURE.md should show this table:\n{markdown(name)}"
