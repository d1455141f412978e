"""One client's OVOS session: the latest session dict seen on the bus, and the pipeline policy.

OVOS keeps a non-default session on the *client* side: it travels in every message's
``context["session"]`` and core answers with the updated dict (active skills, which skill waits
for an answer). We keep the latest one and send it back with the next utterance.

The pipeline is chosen per turn. ``converse`` is left out unless a skill waits for an answer:
with it, every utterance after a non-conversational skill ran waits the converse stage's full
0.5 s timeout. Padatious *medium* (conf >= 0.8) and, late, *low* (>= 0.5) are in: normal phrasing
such as "what is the date today" scores 0.70 and fails high and medium. ``common_qa`` (waits up to
6 s for answers), ``ocp_*`` and ``adapt_low`` are out by default.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from ovos_realtime_plugin.bus import names

DEFAULT_PIPELINE: tuple[str, ...] = (
    names.STAGE_STOP_HIGH,
    names.STAGE_PADATIOUS_HIGH,
    names.STAGE_ADAPT_HIGH,
    names.STAGE_FALLBACK_HIGH,
    names.STAGE_STOP_MEDIUM,
    names.STAGE_PADATIOUS_MEDIUM,
    names.STAGE_ADAPT_MEDIUM,
    names.STAGE_FALLBACK_MEDIUM,
    names.STAGE_PADATIOUS_LOW,
    names.STAGE_FALLBACK_LOW,
)
LLM_FALLBACK_PIPELINE: tuple[str, ...] = tuple(s for s in DEFAULT_PIPELINE if s != names.STAGE_PADATIOUS_LOW)
"""With an LLM as OVOS's fallback: a guess at padatious's low stage (>= 0.5; "set a timer" has matched the
date-time skill there) is left to the LLM, which has the intents as tools and can still run the right one."""


def ovos_session_id(realtime_session_id: str, prefix: str = "ovos-realtime") -> str:
    """The OVOS session id of a Realtime session — never ``"default"`` (the device's own)."""
    return f"{prefix}-{realtime_session_id}"


class OvosSession:
    """The session dict of one Realtime connection, kept current from the bus."""

    def __init__(self, initial: dict[str, Any], pipeline: Sequence[str] = DEFAULT_PIPELINE):
        session_id = initial.get("session_id")
        if not isinstance(session_id, str) or session_id == "default":
            raise ValueError(f"a Realtime connection needs its own OVOS session id, not {session_id!r}")
        self.session_id = session_id
        self.pipeline = tuple(s for s in pipeline if s != names.STAGE_CONVERSE)
        self._data = copy.deepcopy(initial)
        self.expecting_answer = False
        """The last turn ended with ``speak {expect_response: true}``: route the next one to converse."""

    @property
    def data(self) -> dict[str, Any]:
        return self._data

    @property
    def lang(self) -> str | None:
        lang = self._data.get("lang")
        return lang if isinstance(lang, str) else None

    def update(self, session: dict[str, Any]) -> None:
        """Take the session dict a bus message carried (the caller checked it is ours)."""
        if session.get("session_id") == self.session_id:
            self._data = session

    def waiting_skills(self) -> list[str]:
        """Skills in ``get_response``: their ``utterance_states`` entry is ``"response"``."""
        states = self._data.get("utterance_states") or {}
        return [skill for skill, state in states.items() if state == names.UTTERANCE_STATE_RESPONSE]

    def wants_converse(self) -> bool:
        return self.expecting_answer or bool(self.waiting_skills())

    def pipeline_for_turn(self) -> list[str]:
        stages = list(self.pipeline)
        if self.wants_converse():
            at = 1 if stages[:1] == [names.STAGE_STOP_HIGH] else 0
            stages.insert(at, names.STAGE_CONVERSE)
        return stages

    def for_turn(self, lang: str | None) -> dict[str, Any]:
        """The dict to send with the next utterance: latest state, this turn's pipeline and language."""
        session = copy.deepcopy(self._data)
        session["pipeline"] = self.pipeline_for_turn()
        if lang:
            session["lang"] = lang
        return session

    def snapshot(self) -> dict[str, Any]:
        """The dict to send with anything else (audio output, stop)."""
        return copy.deepcopy(self._data)
