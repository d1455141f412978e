"""ovos-realtime as an OVOS fallback skill, so OVOS's own pipeline decides when the LLM answers.

The fallback protocol (ovos-core 2.1, ``FallbackService``), as any bus client may speak it:

| OVOS sends (in a session)                 | we answer                                                       |
|-------------------------------------------|-----------------------------------------------------------------|
| (at start, reconnect, skills initialized) | ``ovos.skills.fallback.register {skill_id, priority}``           |
| ``ovos.skills.fallback.ping``             | ``ovos.skills.fallback.pong {skill_id, can_handle}`` — true only |
|                                           | for the sessions of our own connections                          |
| ``ovos.skills.fallback.<id>.request``     | the connection's :class:`OvosAssistant` answers with the LLM     |
|                                           | (:func:`answer_as_fallback_skill`): ``.start``, the answer, then |
|                                           | ``.response {result}`` and ``ovos.utterance.handled``            |
| (on close)                                | ``ovos.skills.fallback.deregister {skill_id}``                   |

OVOS waits up to 0.5 s for *every* registered fallback to answer a ping, in every session of the device, so
the pong goes out at once for every session (``can_handle`` false for the device's own), and the
registration is withdrawn when ovos-realtime stops. Fallback skills with a higher priority (a lower number)
get the utterance first; ``ovos-skill-fallback-unknown`` (100) comes after the default 95.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, Callable

from ovos_realtime_plugin.bus import names
from ovos_realtime_plugin.bus.client import BusConnection, BusMessage, TypeSubscription
from ovos_realtime_plugin.core.assistant import AssistantOutput

logger = logging.getLogger(__name__)

DEFAULT_PRIORITY = 95
"""In OVOS's ``fallback_low`` range (90, 101]: after the general fallbacks, before "I don't understand"."""


class FallbackSkill:
    """The registration, and the pong for every session; the request itself goes to the session's assistant."""

    def __init__(self, bus: BusConnection, skill_id: str, handles: Callable[[str], bool],
                 priority: int = DEFAULT_PRIORITY):
        if not 0 < priority <= 101:
            raise ValueError(f"a fallback priority is in (0, 101], not {priority}")
        self.skill_id, self.priority = skill_id, priority
        self._bus = bus
        self._handles = handles
        self._subs: list[TypeSubscription] = []

    def start(self) -> None:
        """Listen for pings and register now (if the bus is up) and whenever OVOS may have forgotten us."""
        if self._subs:
            return
        self._subs = [self._bus.subscribe_type(names.FALLBACK_PING, self._on_ping),
                      self._bus.subscribe_type(names.SKILLS_INITIALIZED, self._register),
                      self._bus.subscribe_type(names.BUS_CONNECTED, self._register)]
        if self._bus.connected:
            self._register()

    def close(self) -> None:
        """Withdraw the registration (else OVOS waits 0.5 s for our pong in every fallback stage)."""
        subs, self._subs = self._subs, []
        for sub in subs:
            sub.cancel()
        if subs:
            self._bus.emit_quietly(names.FALLBACK_DEREGISTER, {"skill_id": self.skill_id})

    def _register(self, _msg: BusMessage | None = None) -> None:
        logger.info("registering with OVOS as fallback skill %s (priority %d)", self.skill_id, self.priority)
        # lost while the bus is down: registered again on the next "connected"
        self._bus.emit_quietly(names.FALLBACK_REGISTER, {"skill_id": self.skill_id, "priority": self.priority})

    def _on_ping(self, msg: BusMessage) -> None:
        session_id = msg.session_id
        can_handle = session_id is not None and self._handles(session_id)
        context = {**msg.context, "skill_id": self.skill_id}
        self._bus.emit_quietly(names.FALLBACK_PONG, {"skill_id": self.skill_id, "can_handle": can_handle}, context)


async def answer_as_fallback_skill(bus: BusConnection, skill_id: str, request: BusMessage,
                                   answer: AsyncGenerator[AssistantOutput, None],
                                   ) -> AsyncGenerator[AssistantOutput, None]:
    """Answer OVOS's fallback ``request`` as a fallback skill does: ``.start``, the ``answer``, ``.response`` and
    ``ovos.utterance.handled`` — the last two however the answer ends, so OVOS's session moves on."""
    answered = False
    forward = dict(request.context)  # as OVOS's Message.forward does
    bus.emit_quietly(names.fallback_start(skill_id), {}, forward)
    try:
        async with contextlib.aclosing(answer) as outputs:
            async for output in outputs:
                answered = True
                yield output
    finally:
        bus.emit_quietly(names.fallback_response(skill_id),
                         {"result": answered, "fallback_handler": "ovos-realtime.llm"}, forward)
        bus.emit_quietly(names.UTTERANCE_HANDLED, {}, forward)
