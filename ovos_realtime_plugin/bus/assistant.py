"""OvosAssistant: a Realtime response answered by the OVOS skills on the messagebus — the ``Assistant`` of one
Realtime connection, composed of one part per job:

| job                                                                               | module                           |
|-----------------------------------------------------------------------------------|----------------------------------|
| which item a response answers, and who answers it (:meth:`OvosAssistant.respond`) | this module                      |
| the connection's OVOS session; its messages routed to turns; what we emit         | `.session_link`                  |
| the client's function called by example; its outputs spoken                       | `.function_tools`, `.tool_calls` |
| the words on the bus, what skills say, ``mcp_call`` items; else unknown/fallback  | `.skill_answer`                  |
| the LLM answering as OVOS's fallback skill                                        | `.fallback`                      |
| an intent run by tool name, skipping the pipeline                                 | `.intent_runs`                   |
| the answer to a paused turn, prepared early                                       | `.anticipation`, `.early_answer` |
| one turn's messages, and where it stands                                          | `.turns`, `.states`              |

A turn, in the session of this Realtime connection:

| on the bus                                  | we                                                  |
|---------------------------------------------|-----------------------------------------------------|
| (we emit ``recognizer_loop:utterance``)     | send the last user message's text, turn id in context |
| ``speak`` (either spelling)                 | yield a ``TextDelta``; emit audio_output_start/end  |
| ``speak {expect_response: true}``           | end the turn (after a grace window); the next turn goes to converse |
| ``complete_intent_failure`` (either spelling) | yield an ``unknown.dialog`` line at ``handled`` if nothing was said |
| ``ovos.skills.fallback.<ours>.request``     | the ``fallback`` (the LLM) answers; then ``.response``, ``handled`` |
| (no match, with a ``fallback`` assistant)   | the fallback answers the same request instead       |
| ``ovos.utterance.handled``                  | end the turn after a grace window for late speaks   |
| the bus drops / no end in time              | raise ``BusDisconnectedError`` / ``SkillsTimeoutError`` (+ stop) |
| (the iteration is cancelled or closed)      | emit ``mycroft.stop`` in the session                |

The fallback (the LLM, :mod:`ovos_realtime_plugin.llm`) is registered with OVOS as a fallback skill
(:mod:`ovos_realtime_plugin.bus.fallback`), so OVOS's pipeline decides: when it hands the utterance to us,
the answer is streamed into *this* response by the fallback assistant (token deltas, tool calls, usage,
cancellation of the HTTP stream — which a skill's ``speak`` messages could not carry). If OVOS reports no
match instead (our fallback stage not in the pipeline, or the registration not yet seen), the fallback
answers all the same.

Tools (README, "Tools"):

- **Client function tools with examples** are tried first: a turn that matches one of their example
  phrases (:mod:`.function_tools`) becomes a ``function_call`` and never reaches OVOS. When the client
  answers with ``function_call_output`` + ``response.create``, the output is spoken (:func:`.examples.speakable`).
- **The ``ovos`` MCP tool** (``{"type": "mcp", "server_label": "ovos"}``): the installed intents are its tools
  (:mod:`.intents`, listed through :meth:`OvosAssistant.list_tools`). Each intent the pipeline runs in a turn
  becomes a ``ServerToolCall`` (:mod:`.skill_answer`).
- :meth:`OvosAssistant.run_intent` runs an intent by tool name with arguments, skipping the pipeline.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ovos_realtime_plugin.bus import intent_runs
from ovos_realtime_plugin.bus.anticipation import Anticipation
from ovos_realtime_plugin.bus.assistant_settings import OvosAssistantSettings as OvosAssistantSettings
from ovos_realtime_plugin.bus.client import BusConnection, standard_lang
from ovos_realtime_plugin.bus.dialogs import load_dialogs
from ovos_realtime_plugin.bus.function_tools import FunctionExamples
from ovos_realtime_plugin.bus.intents import IntentCatalogue, allowed_tool_names
from ovos_realtime_plugin.bus.permissions import Access, permitted
from ovos_realtime_plugin.bus.session import DEFAULT_PIPELINE, LLM_FALLBACK_PIPELINE, OvosSession
from ovos_realtime_plugin.bus.session_link import SessionLink
from ovos_realtime_plugin.bus.skill_answer import SkillAnswers
from ovos_realtime_plugin.bus.tool_calls import say_outputs, trailing_function_outputs
from ovos_realtime_plugin.core.assistant import (
    Assistant,
    AssistantOutput,
    AssistantRequest,
    FunctionCallArguments,
    FunctionCallStart,
    TextDelta,
    answer_of,
)
from ovos_realtime_plugin.core.effects import Anticipate
from ovos_realtime_plugin.core.items import Item

if TYPE_CHECKING:
    from ovos_realtime_plugin.core.session import SessionCore

logger = logging.getLogger(__name__)


def new_turn(items: Sequence[Item]) -> Item | None:
    """The message a response answers: the newest item, when it is a user message (typed or transcribed) or a
    ``system`` message the client added (pipecat sends typed text that way; its words go to the skills as an
    utterance, as a user's would). ``None`` when the newest item is an answer already given (an assistant message,
    a function call) or there is nothing: so a ``response.create`` with no new turn never runs an earlier turn's
    skill or client tool again. Listings of MCP tools (added by a ``session.update``) are not turns and are looked
    past."""
    for item in reversed(items):
        if item.type == "mcp_list_tools":
            continue
        return item if item.type == "message" and item.role in ("user", "system") else None
    return None


class OvosAssistant:
    """The :class:`~ovos_realtime_plugin.core.assistant.Assistant` of one Realtime connection."""

    def __init__(self, bus: BusConnection, settings: OvosAssistantSettings | None = None, *,
                 session_id: str | None = None, intents: IntentCatalogue | None = None,
                 access: Access | None = None):
        self._settings = settings = settings or OvosAssistantSettings()
        self._access = access
        """What this client's API key may reach (:mod:`.permissions`); ``None``: everything."""
        self._intents = intents
        self._functions = FunctionExamples()
        self._done = load_dialogs("done", settings.locale_dir)
        self._failed = load_dialogs("failed", settings.locale_dir)
        self._link = SessionLink(bus, settings, intents, access)
        self._skills = SkillAnswers(self._link, intents, load_dialogs("unknown", settings.locale_dir))
        self._anticipation = Anticipation(self._link, self._functions)
        self.fallback: Assistant | None = None
        """Answers a turn no intent matched (instead of the ``unknown`` line) and the client's function outputs."""
        if session_id is not None:
            self._link.ensure(session_id)

    @property
    def session(self) -> OvosSession | None:
        return self._link.session

    def use_llm_pipeline(self, llm_fallback: bool) -> None:
        """With an LLM as fallback, the default pipeline leaves padatious's low stage to it (a pipeline the
        deployment chose is kept as it is)."""
        session = self._link.session
        if session is not None and self._settings.pipeline == DEFAULT_PIPELINE:
            session.pipeline = LLM_FALLBACK_PIPELINE if llm_fallback else DEFAULT_PIPELINE

    def follows(self, ovos_session_id: str) -> bool:
        """Whether this open connection's OVOS session is ``ovos_session_id``."""
        return self._link.follows(ovos_session_id)

    def close(self) -> None:
        """Stop following the session on the bus (the connection is gone)."""
        self._link.close()

    def anticipate(self, words: Anticipate, session_id: str, speak_early: Callable[[str], None] | None) -> None:
        """The user paused on ``words``: prepare their answer if a skill that only answers would give it
        (:mod:`.anticipation`); any earlier prepared answer is dropped."""
        self._anticipation.anticipate(words, session_id, speak_early)

    async def respond(self, request: AssistantRequest) -> AsyncIterator[AssistantOutput]:
        session = self._link.ensure(request.session_id)
        early = self._link.early
        lang = standard_lang(request.language) if request.language else None
        outputs = trailing_function_outputs(request.items)
        if outputs:
            early.drop()
        if outputs and self.fallback is not None:  # the fallback may have made the call: it reads the outputs
            async with contextlib.aclosing(answer_of(self.fallback, request)) as answer:
                async for output in answer:
                    yield output
            return
        if outputs:  # the client ran the function we called: say what it gave
            yield TextDelta(say_outputs(outputs, self._done, self._failed, lang or session.lang), utterance_end=True)
            return
        user = new_turn(request.items)
        text = user.text().strip() if user is not None else ""
        if user is None or not text:
            early.drop()  # a response to anything else: what was prepared will not be heard
            newest = request.items[-1] if request.items else None
            logger.info("response %s: nothing for the skills to answer (the newest item is %s)", request.response_id,
                        "none" if newest is None else f"{newest.type} {newest.role or ''}".strip())
            return
        call = self._functions.match(text, request.tools, request.tool_choice, lang or session.lang or "en-US")
        if call is not None:
            early.drop()
            logger.info("response %s: the turn calls the client's function %s", request.response_id, call.name)
            yield FunctionCallStart(call.name)
            yield FunctionCallArguments(call.arguments_json)
            return
        async with contextlib.aclosing(self._skills.answer(request, user.id, text, lang, self.fallback)) as answer:
            async for output in answer:
                yield output

    async def run_intent(self, name: str, arguments: Mapping[str, Any] | None = None, *, lang: str | None = None,
                         utterance: str | None = None) -> intent_runs.IntentRun:
        """Run the intent of tool ``name`` with ``arguments`` (its slots) in this connection's OVOS session,
        skipping the pipeline (:func:`.intent_runs.run_intent`)."""
        return await intent_runs.run_intent(self._link, self._intents, self._access, name, arguments, lang=lang,
                                            utterance=utterance)

    def list_tools(self, tool: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The ``ovos`` MCP tool's tools: the installed intents (the session core's ``ToolLister``)."""
        if tool.get("server_label") != self._settings.mcp_server_label or self._intents is None:
            return None
        return [t.mcp_tool() for t in permitted(self._access, self._intents.tools(), allowed_tool_names(tool))]


def assistant_factory(bus: BusConnection, settings: OvosAssistantSettings | None = None,
                      intents: IntentCatalogue | None = None) -> Callable[[SessionCore], OvosAssistant]:
    """What the server calls for each new connection: an :class:`OvosAssistant` in that connection's OVOS
    session, which also lists the ``ovos`` MCP tool's tools for the session core."""

    def make(session: SessionCore) -> OvosAssistant:
        assistant = OvosAssistant(bus, settings, session_id=session.id, intents=intents, access=session.access)
        session.tool_lister = assistant
        return assistant

    return make
