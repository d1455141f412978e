"""A response's words answered by the OVOS skills: the utterance on the bus (or the early answer's, already
there), what the skills say as text deltas — each intent the pipeline runs as an ``mcp_call`` when the ``ovos``
MCP tool is on — and, when the skills do not answer, who does:

| the turn ends ...                          | then                                                             |
|--------------------------------------------|------------------------------------------------------------------|
| ``HANDED`` (OVOS chose our fallback skill) | the fallback answers as the fallback skill (:mod:`.fallback`)    |
| ``UNMATCHED``, nothing said, a fallback    | the fallback answers                                             |
| ``UNMATCHED``, nothing said, no fallback   | an ``unknown.dialog`` line                                       |
| otherwise                                  | nothing more: the skills have answered                           |

An intent's speech is held for its ``mcp_call`` until the skill's handler completes (or
``intent_output_wait_s``), then streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator

from ovos_realtime_plugin.bus import names
from ovos_realtime_plugin.bus.dialogs import Dialogs
from ovos_realtime_plugin.bus.fallback import answer_as_fallback_skill
from ovos_realtime_plugin.bus.intents import IntentCatalogue
from ovos_realtime_plugin.bus.session_link import SessionLink
from ovos_realtime_plugin.bus.states import TurnState
from ovos_realtime_plugin.bus.tool_calls import HANDLER_END, HeldCall, SpokenText, intent_of, mcp_tool_of
from ovos_realtime_plugin.bus.turns import RELEASE, Turn
from ovos_realtime_plugin.core.assistant import Assistant, AssistantOutput, AssistantRequest, TextDelta, answer_of

logger = logging.getLogger(__name__)


class SkillAnswers:
    """The skills' answers to one connection's responses."""

    def __init__(self, link: SessionLink, intents: IntentCatalogue | None, unknown: Dialogs) -> None:
        self._link = link
        self._intents = intents
        self._unknown = unknown

    async def answer(self, request: AssistantRequest, item_id: str, text: str, lang: str | None,
                     fallback: Assistant | None) -> AsyncGenerator[AssistantOutput, None]:
        """The answer to ``text`` (the words of item ``item_id``); ``fallback`` answers what the skills do not."""
        link = self._link
        link.check_reachable()
        session = link.ensure(request.session_id)
        prepared = link.early.take(item_id, text, lang)  # this turn's words already on the bus, or None
        with link.open_turn(prepared or Turn(request.response_id)) as turn:
            if prepared is None:
                link.bus.emit(names.UTTERANCE, {"utterances": [text], "lang": lang or session.lang},
                              link.context(turn.id, session.for_turn(lang)))
            speech = SpokenText()
            async with contextlib.aclosing(self._skill_outputs(turn, request, speech, fallback)) as outputs:
                async for output in outputs:
                    yield output
            link.turn_ended(turn, session)
            unanswered = turn.state is TurnState.UNMATCHED and not speech.count
            if turn.handoff is not None and fallback is not None:
                logger.info("response %s: OVOS handed the turn to our fallback; the LLM answers", request.response_id)
                answer = answer_as_fallback_skill(link.bus, link.settings.fallback_skill_id, turn.handoff,
                                                  answer_of(fallback, request))
            elif unanswered and fallback is not None:
                logger.info("response %s: no intent matched; the fallback answers", request.response_id)
                answer = answer_of(fallback, request)
            else:
                if unanswered:
                    yield TextDelta(self._unknown.pick(lang or session.lang), utterance_end=True)
                return
            async with contextlib.aclosing(answer) as answering:
                async for output in answering:
                    yield output

    async def _skill_outputs(self, turn: Turn, request: AssistantRequest, speech: SpokenText,
                             fallback: Assistant | None) -> AsyncGenerator[AssistantOutput, None]:
        """What the skills say in ``turn`` (each intent run as an ``mcp_call`` when the ``ovos`` tool is on),
        until the turn ends or OVOS hands it to our fallback (``HANDED``)."""
        link = self._link
        settings = link.settings
        mcp = mcp_tool_of(request, settings.mcp_server_label)
        label, source = settings.mcp_server_label, settings.source
        fallback_request = names.fallback_request(settings.fallback_skill_id)
        held: HeldCall | None = None
        async with contextlib.aclosing(link.messages(turn)) as messages:
            async for msg in messages:
                if msg.type == fallback_request and fallback is not None:
                    turn.hand_over(msg)  # OVOS chose us: the rest of this turn is ours to answer
                    break
                if held is not None and (msg is RELEASE or msg.type in HANDLER_END):
                    if msg.type == names.HANDLER_ERROR:
                        held.error = str(msg.data.get("exception") or "the skill's handler failed")
                    for output in speech.release(held, label):
                        yield output
                    held = turn.hold_until = None
                elif names.is_speak(msg.type):
                    utterance = link.heard_speak(turn, msg)
                    if utterance and held is not None:
                        held.spoken.append(utterance)
                    elif utterance:
                        yield speech.delta(utterance)
                elif mcp is not None and (tool := intent_of(msg, self._intents, mcp, source)) is not None:
                    if held is not None:
                        for output in speech.release(held, label):
                            yield output
                    held = HeldCall(tool, tool.arguments_from(msg.data))
                    turn.hold_until = asyncio.get_running_loop().time() + settings.intent_output_wait_s
        if held is not None:
            for output in speech.release(held, label):
                yield output
