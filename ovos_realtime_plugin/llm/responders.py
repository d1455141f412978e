"""Who answers a Realtime connection's responses: per deployment (``"responder"`` in the ``"realtime"``
section), and per session by the session's ``model`` (``?model=`` at connect, or ``session.update``):

| responder (model)       | answers                                                                       |
|-------------------------|-------------------------------------------------------------------------------|
| (no ``llm`` configured) | the OVOS skills alone (:class:`OvosAssistant`); no match → ``unknown.dialog`` |
| ``ovos_first``          | the OVOS skills; what they cannot answer → the LLM                            |
| (``ovos-llm``)          | (:attr:`OvosAssistant.fallback`), registered as an OVOS fallback skill so     |
|                         | OVOS's pipeline decides (bus/fallback.py); the intents are the LLM's tools;   |
|                         | the client's function outputs → the LLM                                       |
| ``llm`` (``llm``)       | the LLM alone; the OVOS intents only as its tools                             |
| (``ovos``)              | the OVOS skills alone, though an LLM is configured                            |

Any other model (``gpt-realtime``, what stock clients send) gets the deployment's ``responder``.
Either way, each connection has its own :class:`OvosAssistant` (its OVOS session): it runs the intents
the model calls and lists the ``ovos`` MCP tool's tools. Which one answered shows only through normal
items: an ``mcp_call`` for an intent, a ``function_call`` for a client function, a message for text.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Literal

from ovos_realtime_plugin.bus.assistant import OvosAssistant, assistant_factory
from ovos_realtime_plugin.bus.assistant_settings import OvosAssistantSettings
from ovos_realtime_plugin.bus.client import BusConnection
from ovos_realtime_plugin.bus.fallback import FallbackSkill
from ovos_realtime_plugin.bus.intents import IntentCatalogue
from ovos_realtime_plugin.core.assistant import Assistant, AssistantOutput, AssistantRequest, answer_of
from ovos_realtime_plugin.core.effects import Anticipate
from ovos_realtime_plugin.llm.settings import Responder

if TYPE_CHECKING:  # the LLM modules import openai (~30 MB): only when an LLM is configured
    from ovos_realtime_plugin.core.session import SessionCore
    from ovos_realtime_plugin.llm.assistant import LlmAssistant
    from ovos_realtime_plugin.llm.backend import ChatBackend


Order = Responder | Literal["ovos"]
MODEL_RESPONDERS: dict[str, Order] = {"ovos": "ovos", "ovos-llm": "ovos_first", "llm": "llm"}
"""Session models that choose who answers that session."""


class SessionResponder:
    """One connection's assistant: the OVOS skills, the LLM, or both, by the session's model."""

    def __init__(self, skills: OvosAssistant, llm: LlmAssistant, default: Responder):
        self.skills, self._llm, self._default = skills, llm, default

    def order(self, model: str) -> Order:
        return MODEL_RESPONDERS.get(model, self._default)

    def answer_as(self, model: str) -> Assistant:
        """Who answers a session of ``model``; with the LLM as OVOS's fallback, the skills are told so."""
        order = self.order(model)
        first = order == "ovos_first"
        self.skills.fallback = self._llm if first else None
        self.skills.use_llm_pipeline(first)
        return self._llm if order == "llm" else self.skills

    def anticipate(self, words: Anticipate, session_id: str, speak_early: Callable[[str], None] | None) -> None:
        """Where the skills answer first, they may prepare the answer to a paused turn (the LLM does not)."""
        if self.answer_as(words.model) is self.skills:  # the pipeline and fallback the response will have
            self.skills.anticipate(words, session_id, speak_early)

    async def respond(self, request: AssistantRequest) -> AsyncIterator[AssistantOutput]:
        async with contextlib.aclosing(answer_of(self.answer_as(request.model), request)) as outputs:
            async for output in outputs:
                yield output

    def close(self) -> None:
        self.skills.close()

    def claims(self, ovos_session: str) -> bool:
        """Whether OVOS may hand this session's unanswered utterances to our fallback skill."""
        return self.skills.fallback is not None and self.skills.follows(ovos_session)


class Responders:
    """What the server calls for each new connection; :meth:`close` withdraws the fallback registration."""

    def __init__(self, bus: BusConnection, settings: OvosAssistantSettings | None = None,
                 intents: IntentCatalogue | None = None, backend: ChatBackend | None = None):
        self._settings = settings = settings or OvosAssistantSettings()
        self._ovos = assistant_factory(bus, settings, intents)
        self._intents, self._backend = intents, backend
        self._fallback_skill: FallbackSkill | None = None
        if backend is not None:  # a session may ask for ovos_first by its model even when it is not the default
            self._fallback_skill = FallbackSkill(bus, settings.fallback_skill_id, self._is_ours,
                                                 settings.fallback_priority)
            self._fallback_skill.start()
        self._answering: weakref.WeakSet[SessionResponder] = weakref.WeakSet()

    def __call__(self, session: SessionCore) -> Assistant:
        skills = self._ovos(session)
        chat = self._backend
        if chat is None or not getattr(session.access, "allow_llm", True):  # an API key without the LLM
            return skills
        from ovos_realtime_plugin.llm.assistant import LlmAssistant  # imports openai: only with an LLM configured

        llm = LlmAssistant(chat, chat.settings, intents=self._intents, runner=skills,
                           mcp_server_label=self._settings.mcp_server_label, access=session.access)
        responder = SessionResponder(skills, llm, chat.settings.responder)
        responder.answer_as(session.model)
        self._answering.add(responder)
        return responder

    def close(self) -> None:
        if self._fallback_skill is not None:
            self._fallback_skill.close()
            self._fallback_skill = None

    def _is_ours(self, ovos_session: str) -> bool:
        """The OVOS session of one of our open connections whose LLM answers as the fallback."""
        return any(responder.claims(ovos_session) for responder in self._answering)

