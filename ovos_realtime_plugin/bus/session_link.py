"""One Realtime connection's place in its OVOS session: the session dict, the subscription to its messages,
which open turn each message belongs to, and what we emit in the session as its audio sink.

Every message we emit carries the Realtime response id under :data:`~.turns.TURN_KEY`; OVOS copies the context
into everything it does for that utterance, so late messages of an earlier, cancelled turn are told apart from
the open one. A skill answering a question speaks from the *asking* turn's context: those ids (and messages with
no id) go to the newest open turn while the question is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Iterator
from typing import Any

from ovos_realtime_plugin.bus import names
from ovos_realtime_plugin.bus.assistant_settings import OvosAssistantSettings
from ovos_realtime_plugin.bus.client import BusConnection, BusMessage, Subscription, new_session
from ovos_realtime_plugin.bus.early_answer import EarlyAnswers
from ovos_realtime_plugin.bus.errors import BusUnavailableError, SkillsTimeoutError, SkillsUnavailableError
from ovos_realtime_plugin.bus.intents import IntentCatalogue
from ovos_realtime_plugin.bus.permissions import Access, restrict_session
from ovos_realtime_plugin.bus.session import OvosSession, ovos_session_id
from ovos_realtime_plugin.bus.states import TurnState, TurnTrigger
from ovos_realtime_plugin.bus.turns import TURN_KEY, Turn, turn_messages

logger = logging.getLogger(__name__)


class SessionLink:
    """The OVOS session of one connection on the shared bus, and the turns open in it."""

    def __init__(self, bus: BusConnection, settings: OvosAssistantSettings, intents: IntentCatalogue | None,
                 access: Access | None) -> None:
        self.bus = bus
        self.settings = settings
        self._intents = intents
        self._access = access
        self.session: OvosSession | None = None
        self._subscription: Subscription | None = None
        self._turns: dict[str, Turn] = {}
        self._question_turns: set[str] = set()
        self.early = EarlyAnswers()

    def ensure(self, realtime_session_id: str) -> OvosSession:
        """The OVOS session of Realtime session ``realtime_session_id``, followed on the bus from now on."""
        session_id = ovos_session_id(realtime_session_id, self.settings.source)
        if self.session is not None and self.session.session_id == session_id:
            return self.session
        self.close()
        s = self.settings
        initial = new_session(session_id, s.default_lang, s.pipeline, s.location)
        restrict_session(initial, self._access, self._intents.tools() if self._intents is not None else ())
        self.session = OvosSession(initial, s.pipeline)
        self._subscription = self.bus.subscribe(session_id, self._on_message, self._on_drop)
        return self.session

    def follows(self, ovos_session_id: str) -> bool:
        return self._subscription is not None and self.session is not None and \
            self.session.session_id == ovos_session_id

    def close(self) -> None:
        """Stop following the session on the bus (the connection is gone)."""
        self.early.drop()
        if self._subscription is not None:
            self._subscription.cancel()
            self._subscription = None

    def check_reachable(self) -> None:
        """Fail a turn at once while the bus or the skills behind it are down, rather than at its timeout."""
        if not self.bus.connected:
            raise BusUnavailableError(f"not connected to the OVOS messagebus at {self.bus.url}")
        if self.bus.skills_down is not None:
            raise SkillsUnavailableError(self.bus.skills_down)

    # --- turns ---------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def open_turn(self, turn: Turn) -> Iterator[Turn]:
        """Route ``turn``'s messages to it; one that ends early (cancelled, closed or timed out while a response
        still follows it) stops what OVOS still does for it."""
        self._turns[turn.id] = turn
        try:
            yield turn
        except (SkillsTimeoutError, asyncio.CancelledError, GeneratorExit):
            if turn.following:
                self._stop(turn)
            raise
        finally:
            self._turns.pop(turn.id, None)

    def messages(self, turn: Turn) -> AsyncGenerator[BusMessage, None]:
        """``turn``'s messages until it ends (:func:`~.turns.turn_messages`)."""
        return turn_messages(turn, self.settings, lambda: self.emit_in_session(names.AUDIO_OUTPUT_END, turn.id))

    def heard_speak(self, turn: Turn, msg: BusMessage) -> str:
        """A skill spoke in ``turn``: we are the audio sink; a question keeps routing its turn here. The words."""
        if turn.acknowledged_early:  # the first speaks of a prepared turn were acknowledged as they came
            turn.acknowledged_early -= 1
        else:
            self.audio_output(turn.id)
        if msg.data.get("expect_response"):
            turn.fire(TurnTrigger.ASKED)
            self._question_turns.add(str(msg.context.get(TURN_KEY) or turn.id))
        return str(msg.data.get("utterance") or "").strip()

    def turn_ended(self, turn: Turn, session: OvosSession) -> None:
        """``turn``'s messages are over (ended or handed to our fallback): whether a question stays open."""
        session.expecting_answer = turn.state is TurnState.ASKED
        if not session.wants_converse():
            self._question_turns.clear()

    # --- what we emit ----------------------------------------------------------------------------------------
    def context(self, turn_id: str, session: dict[str, Any]) -> dict[str, Any]:
        return {"source": self.settings.source, "destination": ["skills"], "session": session, TURN_KEY: turn_id}

    def emit_in_session(self, msg_type: str, turn_id: str) -> None:
        """Emit in this session; a bus that is down only gets a log line (the turn fails on its own)."""
        if self.session is not None:
            self.bus.emit_quietly(msg_type, {}, self.context(turn_id, self.session.snapshot()))

    def audio_output(self, turn_id: str) -> None:
        """We are the audio sink: the text goes to the client, so speech 'ends' at once."""
        self.emit_in_session(names.AUDIO_OUTPUT_START, turn_id)
        self.emit_in_session(names.AUDIO_OUTPUT_END, turn_id)

    def _stop(self, turn: Turn) -> None:
        turn.fire(TurnTrigger.STOPPED)
        if self.session is not None:
            self.session.expecting_answer = False  # a stop also ends a skill's question
        logger.info("response %s ended early: stopping OVOS session %s", turn.id,
                    self.session.session_id if self.session else "?")
        self.emit_in_session(names.STOP, turn.id)

    # --- routing (on the loop) ---------------------------------------------------------------------------------
    def _on_message(self, msg: BusMessage) -> None:
        if self.session is not None and msg.session is not None:
            self.session.update(msg.session)
        turn_id = msg.context.get(TURN_KEY)
        if self.early.route(turn_id, msg, lambda: self.audio_output(str(turn_id))):
            return
        turn = self._turns.get(turn_id) if isinstance(turn_id, str) else None
        if turn is None and self._turns and (turn_id is None or turn_id in self._question_turns):
            turn = next(reversed(self._turns.values()))
        if turn is not None:
            turn.queue.put_nowait(msg)

    def _on_drop(self, reason: str) -> None:
        self.early.drop()  # its messages are lost with the connection: the response sends the words again
        for turn in self._turns.values():
            turn.queue.put_nowait(reason)
