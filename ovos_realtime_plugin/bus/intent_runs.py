"""Running an OVOS intent by its tool name, skipping the pipeline (the LLM's and the SDK's way to call one).

Emits the intent's own message type with the slots as data, in the connection's OVOS session, and collects
what the skill says until ``ovos.utterance.handled``.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ovos_realtime_plugin.bus import names
from ovos_realtime_plugin.bus.client import standard_lang
from ovos_realtime_plugin.bus.intents import IntentCatalogue, IntentTool, UnknownIntentError
from ovos_realtime_plugin.bus.permissions import Access, allows
from ovos_realtime_plugin.bus.session_link import SessionLink
from ovos_realtime_plugin.bus.turns import Turn
from ovos_realtime_plugin.core.assistant import ServerToolCall


@dataclass(frozen=True)
class IntentRun:
    """What running an intent by name gave (:func:`run_intent`)."""

    tool: IntentTool
    arguments: dict[str, str]
    spoken: tuple[str, ...]
    error: str | None = None

    @property
    def text(self) -> str:
        return " ".join(self.spoken)

    def server_call(self, server_label: str) -> ServerToolCall:
        """This run as an ``mcp_call`` output item."""
        return ServerToolCall(server_label, self.tool.name, json.dumps(self.arguments, ensure_ascii=False),
                              self.text, self.error)


async def run_intent(link: SessionLink, intents: IntentCatalogue | None, access: Access | None, name: str,
                     arguments: Mapping[str, Any] | None = None, *, lang: str | None = None,
                     utterance: str | None = None) -> IntentRun:
    """Run the intent of tool ``name`` with ``arguments`` (its slots) in ``link``'s OVOS session.

    ``utterance`` (default: a sample phrase with the slots filled in) is what the handler sees as the user's
    words. Raises :class:`UnknownIntentError` for a name the catalogue does not have (or ``access`` does not
    allow), ``ValueError`` for an argument the intent has no slot for, and the errors of a turn.
    """
    tool = intents.by_name(name) if intents is not None else None
    if tool is None or not allows(access, tool):
        raise UnknownIntentError(name)
    slots = {key: str(value) for key, value in (arguments or {}).items() if value is not None}
    unknown = sorted(set(slots) - set(tool.slots))
    if unknown:
        raise ValueError(f"{name} has no slot {', '.join(unknown)}; its slots: {', '.join(tool.slots) or 'none'}")
    session = link.session
    if session is None:
        raise RuntimeError("run_intent needs the Realtime session id (OvosAssistant(session_id=...))")
    link.check_reachable()
    lang = standard_lang(lang) if lang else session.lang
    said = utterance or tool.utterance_for(slots)
    spoken: list[str] = []
    error: str | None = None
    with link.open_turn(Turn(f"intent-{uuid.uuid4().hex}")) as turn:
        link.bus.emit(tool.message_type, {**slots, "utterance": said, "utterances": [said], "lang": lang},
                      link.context(turn.id, session.for_turn(lang)))
        async with contextlib.aclosing(link.messages(turn)) as messages:
            async for msg in messages:
                if names.is_speak(msg.type):
                    spoken.append(link.heard_speak(turn, msg))
                elif msg.type == names.HANDLER_ERROR:
                    error = str(msg.data.get("exception") or "the skill's handler failed")
        link.turn_ended(turn, session)
    return IntentRun(tool, slots, tuple(s for s in spoken if s), error)
