"""OvosAssistant: a Realtime response answered by the OVOS skills on the messagebus.

A turn, in the session of this Realtime connection:

| on the bus                                  | we                                                  |
|---------------------------------------------|-----------------------------------------------------|
| (we emit ``recognizer_loop:utterance``)     | send the last user message's text, turn id in context |
| ``speak`` (either spelling)                 | yield a ``TextDelta``; emit audio_output_start/end  |
| ``speak {expect_response: true}``           | end the turn (after a grace window); the next turn goes to converse |
| ``complete_intent_failure`` (either spelling) | yield an ``unknown.dialog`` line at ``handled`` if nothing was said |
| ``ovos.utterance.handled``                  | end the turn after a grace window for late speaks   |
| the bus drops / no end in time              | raise ``BusDisconnectedError`` / ``SkillsTimeoutError`` (+ stop) |
| (the iteration is cancelled or closed)      | emit ``mycroft.stop`` in the session                |

Every message we emit carries the Realtime response id under :data:`TURN_KEY`; OVOS copies the
context into everything it does for that utterance, so late messages of an earlier, cancelled
turn are told apart from this one. A skill answering a question speaks from the *asking* turn's
context: those ids are accepted while the question is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ovos_realtime_plugin.bus import names
from ovos_realtime_plugin.bus.client import BusConnection, BusMessage, Subscription, new_session, standard_lang
from ovos_realtime_plugin.bus.dialogs import DEFAULT_LOCALE_DIR, load_dialogs
from ovos_realtime_plugin.bus.errors import BusDisconnectedError, BusUnavailableError, SkillsTimeoutError
from ovos_realtime_plugin.bus.session import DEFAULT_PIPELINE, OvosSession, ovos_session_id
from ovos_realtime_plugin.core.assistant import AssistantOutput, AssistantRequest, TextDelta
from ovos_realtime_plugin.core.items import Item

logger = logging.getLogger(__name__)

TURN_KEY = "ovos_realtime_response_id"


@dataclass(frozen=True)
class OvosAssistantSettings:
    pipeline: tuple[str, ...] = DEFAULT_PIPELINE
    turn_timeout_s: float = 15.0
    """No ``ovos.utterance.handled`` (or question) within this → :class:`SkillsTimeoutError`."""
    grace_s: float = 0.15
    """How long to keep listening for late ``speak``s after the end of a turn."""
    reannounce_end_s: float = 0.03
    """Quiet this long after a ``speak``: emit audio_output_end again, then after 3x, 9x ... that. A skill in
    ``speak(wait=True)`` subscribes to it only *after* emitting its ``speak``; under load our end can arrive
    first, and the skill would then wait 15 s."""
    default_lang: str | None = None
    """None: the ``lang`` of mycroft.conf."""
    source: str = "ovos-realtime"
    locale_dir: Path = DEFAULT_LOCALE_DIR


def last_user_text(items: Sequence[Item]) -> str:
    """The text (typed or transcribed) of the last user message, or ``""``."""
    for item in reversed(items):
        if item.type == "message" and item.role == "user":
            return item.text().strip()
    return ""


class _Turn:
    def __init__(self, response_id: str):
        self.id = response_id
        self.queue: asyncio.Queue[BusMessage | str] = asyncio.Queue()  # str: the bus dropped, why


class OvosAssistant:
    """The :class:`~ovos_realtime_plugin.core.assistant.Assistant` of one Realtime connection."""

    def __init__(self, bus: BusConnection, settings: OvosAssistantSettings | None = None, *,
                 session_id: str | None = None):
        self._bus = bus
        self._settings = settings or OvosAssistantSettings()
        self._unknown = load_dialogs("unknown", self._settings.locale_dir)
        self._session: OvosSession | None = None
        self._subscription: Subscription | None = None
        self._turns: dict[str, _Turn] = {}
        self._question_turns: set[str] = set()
        if session_id is not None:
            self._ensure_session(session_id)

    @property
    def session(self) -> OvosSession | None:
        return self._session

    def close(self) -> None:
        """Stop following the session on the bus (the connection is gone)."""
        if self._subscription is not None:
            self._subscription.cancel()
            self._subscription = None

    async def respond(self, request: AssistantRequest) -> AsyncIterator[AssistantOutput]:
        text = last_user_text(request.items)
        if not text:
            logger.debug("response %s: no user message to answer", request.response_id)
            return
        session = self._ensure_session(request.session_id)
        if not self._bus.connected:
            raise BusUnavailableError(f"not connected to the OVOS messagebus at {self._bus.url}")
        lang = standard_lang(request.language) if request.language else None
        turn = _Turn(request.response_id)
        self._turns[turn.id] = turn
        finished = False
        try:
            self._bus.emit(names.UTTERANCE, {"utterances": [text], "lang": lang or session.lang},
                           self._context(turn.id, session.for_turn(lang)))
            spoken = 0
            unmatched = question = False
            async with contextlib.aclosing(self._messages(turn)) as messages:
                async for msg in messages:
                    if names.is_speak(msg.type):
                        self._audio_output(turn.id)
                        utterance = str(msg.data.get("utterance") or "").strip()
                        if utterance:
                            yield TextDelta(utterance if spoken == 0 else " " + utterance)
                            spoken += 1
                        if msg.data.get("expect_response"):
                            question = True
                            self._question_turns.add(str(msg.context.get(TURN_KEY) or turn.id))
                    elif names.is_intent_failure(msg.type):
                        unmatched = True
            finished = True
            session.expecting_answer = question
            if not session.wants_converse():
                self._question_turns.clear()
            if unmatched and not spoken:
                yield TextDelta(self._unknown.pick(lang or session.lang))
        except SkillsTimeoutError:
            self._stop(turn.id)  # whatever the skill still does belongs to a failed response
            raise
        except (asyncio.CancelledError, GeneratorExit):
            if not finished:
                self._stop(turn.id)
            raise
        finally:
            self._turns.pop(turn.id, None)

    async def _messages(self, turn: _Turn) -> AsyncGenerator[BusMessage, None]:
        """This turn's messages until its end and the grace window after it."""
        settings = self._settings
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.turn_timeout_s
        grace_until: float | None = None
        reannounce_at: float | None = None
        reannounce_after = settings.reannounce_end_s
        unmatched = False
        while True:
            wake = grace_until if grace_until is not None else deadline
            if reannounce_at is not None:
                wake = min(wake, reannounce_at)
            try:
                item = await asyncio.wait_for(turn.queue.get(), max(0.0, wake - loop.time()))
            except asyncio.TimeoutError:
                now = loop.time()
                if grace_until is not None and now >= grace_until:
                    return
                if reannounce_at is not None and now >= reannounce_at:
                    reannounce_after *= 3
                    reannounce_at = now + reannounce_after
                    self._emit_quietly(names.AUDIO_OUTPUT_END, turn.id)
                elif now >= deadline:
                    raise SkillsTimeoutError(
                        f"OVOS skills did not finish answering within {settings.turn_timeout_s:g} s") from None
                continue
            if isinstance(item, str):
                raise BusDisconnectedError(f"OVOS messagebus connection lost while skills were answering ({item})")
            yield item
            if names.is_speak(item.type):
                reannounce_after = settings.reannounce_end_s
                reannounce_at = loop.time() + reannounce_after
                if item.data.get("expect_response") and grace_until is None:
                    grace_until = loop.time() + settings.grace_s
            elif names.is_intent_failure(item.type):
                unmatched = True
            elif item.type == names.UTTERANCE_HANDLED and grace_until is None:
                if unmatched:  # nothing will speak after a failure: no grace needed
                    return
                grace_until = loop.time() + settings.grace_s

    # --- session and routing (on the loop) -----------------------------------------------
    def _ensure_session(self, realtime_session_id: str) -> OvosSession:
        session_id = ovos_session_id(realtime_session_id, self._settings.source)
        if self._session is not None and self._session.session_id == session_id:
            return self._session
        self.close()
        initial = new_session(session_id, self._settings.default_lang, self._settings.pipeline)
        self._session = OvosSession(initial, self._settings.pipeline)
        self._subscription = self._bus.subscribe(session_id, self._on_message, self._on_drop)
        return self._session

    def _on_message(self, msg: BusMessage) -> None:
        if self._session is not None and msg.session is not None:
            self._session.update(msg.session)
        turn_id = msg.context.get(TURN_KEY)
        turn = self._turns.get(turn_id) if isinstance(turn_id, str) else None
        if turn is None and self._turns and (turn_id is None or turn_id in self._question_turns):
            turn = next(reversed(self._turns.values()))
        if turn is not None:
            turn.queue.put_nowait(msg)

    def _on_drop(self, reason: str) -> None:
        for turn in self._turns.values():
            turn.queue.put_nowait(reason)

    # --- what we emit ----------------------------------------------------------------------
    def _context(self, turn_id: str, session: dict[str, Any]) -> dict[str, Any]:
        return {"source": self._settings.source, "destination": ["skills"], "session": session, TURN_KEY: turn_id}

    def _emit_quietly(self, msg_type: str, turn_id: str) -> None:
        """Emit in this session; a bus that is down only gets a log line (the turn fails on its own)."""
        if self._session is None:
            return
        try:
            self._bus.emit(msg_type, {}, self._context(turn_id, self._session.snapshot()))
        except BusUnavailableError as exc:
            logger.warning("could not emit %s: %s", msg_type, exc)

    def _audio_output(self, turn_id: str) -> None:
        """We are the audio sink: the text goes to the client, so speech 'ends' at once."""
        self._emit_quietly(names.AUDIO_OUTPUT_START, turn_id)
        self._emit_quietly(names.AUDIO_OUTPUT_END, turn_id)

    def _stop(self, turn_id: str) -> None:
        if self._session is not None:
            self._session.expecting_answer = False  # a stop also ends a skill's question
        logger.info("response %s ended early: stopping OVOS session %s", turn_id,
                    self._session.session_id if self._session else "?")
        self._emit_quietly(names.STOP, turn_id)
