"""The OVOS side of the core's :class:`~ovos_realtime_plugin.core.effects.Anticipate`: the user paused on some
words, so ask OVOS's intent service which skill would answer them and, for a skill that only answers, send them
at once (:mod:`.early_answer` explains why, and holds the prepared turn)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ovos_realtime_plugin.bus import names
from ovos_realtime_plugin.bus.client import standard_lang
from ovos_realtime_plugin.bus.early_answer import EarlyAnswer
from ovos_realtime_plugin.bus.errors import BusUnavailableError
from ovos_realtime_plugin.bus.function_tools import FunctionExamples
from ovos_realtime_plugin.bus.session import OvosSession
from ovos_realtime_plugin.bus.session_link import SessionLink
from ovos_realtime_plugin.bus.states import TurnTrigger
from ovos_realtime_plugin.core.effects import Anticipate

logger = logging.getLogger(__name__)


class Anticipation:
    """Prepares the answer to a paused turn in one connection's OVOS session."""

    def __init__(self, link: SessionLink, functions: FunctionExamples) -> None:
        self._link = link
        self._functions = functions

    def anticipate(self, words: Anticipate, session_id: str, speak_early: Callable[[str], None] | None) -> None:
        """Prepare the answer to ``words`` if a skill that only answers would give it; any earlier prepared
        answer is dropped."""
        link = self._link
        link.early.drop()
        allowed = link.settings.early_answer_skills
        session = link.ensure(session_id)
        lang = standard_lang(words.language) if words.language else None
        text = words.text.strip()
        if not allowed or not text or session.wants_converse() or not link.bus.connected or \
                link.bus.skills_down is not None:
            return
        if self._functions.match(text, words.tools, words.tool_choice, lang or session.lang or "en-US") is not None:
            return  # the turn will call the client's function
        early = EarlyAnswer(words.item_id, text, lang, speak_early)
        link.early.current = early
        early.task = asyncio.create_task(self._prepare(early, session, allowed))

    async def _prepare(self, early: EarlyAnswer, session: OvosSession, allowed: frozenset[str]) -> None:
        bus = self._link.bus
        context = self._link.context(early.turn.id, session.for_turn(early.lang))
        lang = early.lang or session.lang
        try:
            bus.emit(names.INTENT_GET, {"utterance": early.text, "lang": lang}, context)
            reply = await early.wait_for_match()
            intent = reply.data.get("intent") if reply is not None else None
            skill = intent.get("skill_id") if isinstance(intent, dict) else None
            if skill not in allowed:
                logger.debug("no answer prepared for %r: %s", early.text, skill or "no match in time")
                return
            bus.emit(names.UTTERANCE, {"utterances": [early.text], "lang": lang}, context)
            early.turn.fire(TurnTrigger.SENT)
            logger.debug("answer to %r prepared by %s", early.text, skill)
        except BusUnavailableError as exc:  # nothing prepared: the response sends the words itself
            logger.debug("no answer prepared: %s", exc)
        except Exception:  # our own bug: logged with its traceback; the response sends the words itself
            logger.exception("preparing the answer to %r failed", early.text)
