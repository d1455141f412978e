"""Who answers a Realtime connection's responses, per deployment (``"responder"`` in the ``"realtime"`` section):

| responder      | answers                                                                                |
|----------------|----------------------------------------------------------------------------------------|
| (no ``llm``)   | the OVOS skills alone (:class:`OvosAssistant`); no match → a line of ``unknown.dialog`` |
| ``ovos_first`` | the OVOS skills; what they cannot answer → the LLM (:attr:`OvosAssistant.fallback`),   |
|                | registered as an OVOS fallback skill so OVOS's pipeline decides (bus/fallback.py); the |
|                | intents are the LLM's tools; the client's function outputs → the LLM                   |
| ``llm``        | the LLM alone; the OVOS intents only as its tools                                      |

Either way, each connection has its own :class:`OvosAssistant` (its OVOS session): it runs the intents
the model calls and lists the ``ovos`` MCP tool's tools. Which one answered shows only through normal
items: an ``mcp_call`` for an intent, a ``function_call`` for a client function, a message for text.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from ovos_realtime_plugin.bus.assistant import OvosAssistant, OvosAssistantSettings, assistant_factory
from ovos_realtime_plugin.bus.client import BusConnection
from ovos_realtime_plugin.bus.fallback import FallbackSkill
from ovos_realtime_plugin.bus.intents import IntentCatalogue
from ovos_realtime_plugin.core.assistant import Assistant
from ovos_realtime_plugin.llm.assistant import LlmAssistant
from ovos_realtime_plugin.llm.backend import ChatBackend

if TYPE_CHECKING:
    from ovos_realtime_plugin.core.session import RealtimeSession


class Responders:
    """What the server calls for each new connection; :meth:`close` withdraws the fallback registration."""

    def __init__(self, bus: BusConnection, settings: OvosAssistantSettings | None = None,
                 intents: IntentCatalogue | None = None, backend: ChatBackend | None = None):
        self._settings = settings = settings or OvosAssistantSettings()
        self._ovos = assistant_factory(bus, settings, intents)
        self._intents, self._backend = intents, backend
        self._fallback_skill: FallbackSkill | None = None
        if backend is not None and backend.settings.responder == "ovos_first":
            self._fallback_skill = FallbackSkill(bus, settings.fallback_skill_id, self._is_ours,
                                                 settings.fallback_priority)
            self._fallback_skill.start()
        self._answering: weakref.WeakSet[OvosAssistant] = weakref.WeakSet()

    def __call__(self, session: RealtimeSession) -> Assistant:
        skills = self._ovos(session)
        chat = self._backend
        if chat is None:
            return skills
        llm = LlmAssistant(chat, chat.settings, intents=self._intents, runner=skills,
                           mcp_server_label=self._settings.mcp_server_label)
        if chat.settings.responder == "llm":
            return llm
        skills.fallback = llm
        self._answering.add(skills)
        return skills

    def close(self) -> None:
        if self._fallback_skill is not None:
            self._fallback_skill.close()
            self._fallback_skill = None

    def _is_ours(self, ovos_session: str) -> bool:
        """The OVOS session of one of our open connections whose LLM answers as the fallback."""
        return any(assistant.follows(ovos_session) for assistant in self._answering)


def responder_factory(bus: BusConnection, settings: OvosAssistantSettings | None = None,
                      intents: IntentCatalogue | None = None, backend: ChatBackend | None = None) -> Responders:
    """What the server calls for each new connection (``backend`` None: OVOS alone)."""
    return Responders(bus, settings, intents, backend)
