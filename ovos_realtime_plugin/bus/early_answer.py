"""An answer prepared while the end of the user's turn is still being confirmed, for skills that only answer.

With ``server_vad`` a turn ends ``silence_duration_ms`` (500 ms by default) after the user stops talking, and the
early transcript is ready a couple of hundred milliseconds into that pause; the session core then says so
(:class:`~ovos_realtime_plugin.core.effects.Anticipate`). :meth:`OvosAssistant.anticipate` asks OVOS's intent
service which skill would answer those words (``intent.service.intent.get``: matching only, no handler runs).
If it is one of the skills configured as answering without acting (``early_answer_skills``; by default the
date-time and hello-world skills), the words go onto the bus at once, in the connection's own OVOS session; the
skill's first ``speak`` is synthesized at once, and its messages wait here. When the turn ends with the same
words, the response to that turn's item takes this turn over instead of starting one: its speech is ready as
the turn ends. A response to anything else (the turn ended with other words, or the skill was not known in
time), the next pause, the bus dropping and the connection closing drop it: its skill answered a question
nobody hears, and its later ``speak``\\ s are still acknowledged so that it does not wait on us.

A skill that acts (lights, timers, messages) never runs before the turn has ended.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Callable

from ovos_realtime_plugin.bus import names
from ovos_realtime_plugin.bus.client import BusMessage
from ovos_realtime_plugin.bus.states import TurnState, TurnTrigger
from ovos_realtime_plugin.bus.turns import Turn, next_within

logger = logging.getLogger(__name__)

MATCH_TIMEOUT_S = 2.0  # the intent service's answer to "which skill?"; later than this, nothing is prepared
DROPPED_KEPT = 4  # dropped turns whose speaks are still acknowledged


class EarlyAnswer:
    """One prepared turn: the words, and the OVOS turn they go out in (``MATCHING`` until they are on the bus,
    then ``PREPARED`` until a response takes it or it is dropped)."""

    def __init__(self, item_id: str, text: str, lang: str | None,
                 speak_early: Callable[[str], None] | None) -> None:
        self.item_id, self.text, self.lang = item_id, text, lang
        self.turn = Turn(f"early-{uuid.uuid4().hex}", TurnState.MATCHING)
        self._speak_early = speak_early
        self.task: asyncio.Task[None] | None = None

    def heard(self, msg: BusMessage, acknowledge: Callable[[], None]) -> None:
        """A message of this turn before a response took it: kept for the response; a ``speak`` is acknowledged
        (we are the session's audio sink) and the first one synthesized."""
        self.turn.queue.put_nowait(msg)
        if not names.is_speak(msg.type):
            return
        acknowledge()
        self.turn.acknowledged_early += 1
        utterance = str(msg.data.get("utterance") or "").strip()
        if self.turn.acknowledged_early == 1 and utterance and self._speak_early is not None:
            self._speak_early(utterance)

    async def wait_for_match(self) -> BusMessage | None:
        """The intent service's reply in this turn, or None within :data:`MATCH_TIMEOUT_S`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MATCH_TIMEOUT_S
        while True:
            try:
                msg = await next_within(self.turn.queue, max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                return None
            if isinstance(msg, BusMessage) and msg.type == names.INTENT_GET_REPLY:
                return msg


class EarlyAnswers:
    """The one prepared turn of a connection, and the few dropped ones still acknowledged."""

    def __init__(self) -> None:
        self.current: EarlyAnswer | None = None
        self._dropped: deque[str] = deque(maxlen=DROPPED_KEPT)

    def drop(self) -> None:
        early, self.current = self.current, None
        if early is None:
            return
        if early.task is not None:
            early.task.cancel()
        early.turn.fire(TurnTrigger.DROPPED)
        self._dropped.append(early.turn.id)
        logger.debug("prepared answer to %r dropped", early.text)

    def route(self, turn_id: object, msg: BusMessage, acknowledge: Callable[[], None]) -> bool:
        """Take ``msg`` if it belongs to a prepared turn (True)."""
        early = self.current
        if early is not None and turn_id == early.turn.id:
            early.heard(msg, acknowledge)
            return True
        if turn_id in self._dropped:
            if names.is_speak(msg.type):
                acknowledge()
            return True
        return False

    def take(self, item_id: str, text: str, lang: str | None) -> Turn | None:
        """The prepared turn of this item with these words, if they are already on the bus (its messages keep
        coming here until the caller routes its id); anything else prepared is dropped. Never waits: while the
        intent service has not said which skill would answer, the response sends the words itself."""
        early = self.current
        if early is None:
            return None
        if early.turn.state is not TurnState.PREPARED or (early.item_id, early.text, early.lang) != \
                (item_id, text, lang):
            self.drop()
            return None
        self.current = None
        early.turn.fire(TurnTrigger.TAKEN)
        return early.turn
