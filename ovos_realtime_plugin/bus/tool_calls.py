"""The tool side of an OVOS turn: intents the pipeline runs shown as ``mcp_call`` items (:mod:`.skill_answer`),
and what to say for a client function's output (:class:`~ovos_realtime_plugin.bus.assistant.OvosAssistant`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ovos_realtime_plugin.bus import names
from ovos_realtime_plugin.bus.client import BusMessage
from ovos_realtime_plugin.bus.dialogs import Dialogs
from ovos_realtime_plugin.bus.examples import speakable
from ovos_realtime_plugin.bus.intents import IntentCatalogue, IntentTool, allowed_tool_names
from ovos_realtime_plugin.core.assistant import AssistantOutput, AssistantRequest, ServerToolCall, TextDelta
from ovos_realtime_plugin.core.items import Item

HANDLER_END = frozenset({names.HANDLER_COMPLETE, names.HANDLER_ERROR})


def trailing_function_outputs(items: Sequence[Item]) -> list[str]:
    """The outputs of the ``function_call_output`` items that end the conversation, in order."""
    outputs: list[str] = []
    for item in reversed(items):
        if item.type == "function_call_output":
            outputs.insert(0, item.output or "")
        elif item.type != "function_call":
            break
    return outputs


def say_outputs(outputs: Sequence[str], done: Dialogs, failed: Dialogs, lang: str | None) -> str:
    """What to say for the client's function outputs (:func:`~ovos_realtime_plugin.bus.examples.speakable`)."""
    lines = []
    for output in outputs:
        speech = speakable(output)
        lines.append(speech.text or (failed if speech.dialog == "failed" else done).pick(lang))
    return " ".join(lines)


def mcp_tool_of(request: AssistantRequest, server_label: str) -> dict[str, Any] | None:
    """The request's MCP tool of ``server_label``, unless ``tool_choice`` rules server tools out."""
    choice = request.tool_choice
    if choice == "none" or (isinstance(choice, dict) and choice.get("type") == "function"):
        return None
    for tool in request.tools:
        if tool.get("type") == "mcp" and tool.get("server_label") == server_label:
            return tool
    return None


def intent_of(msg: BusMessage, intents: IntentCatalogue | None, mcp: Mapping[str, Any],
              our_source: str) -> IntentTool | None:
    """The intent a pipeline message ``<skill_id>:<intent>`` runs, if the MCP tool allows showing it."""
    if ":" not in msg.type or msg.context.get("source") == our_source:
        return None
    tool = intents.by_message_type(msg.type) if intents is not None else None
    skill_id = msg.context.get("skill_id")
    if tool is None and isinstance(skill_id, str) and msg.type.startswith(skill_id + ":"):
        tool = IntentTool.for_message(msg.type)
    allowed = allowed_tool_names(mcp)
    return tool if tool is not None and (allowed is None or tool.name in allowed) else None


@dataclass
class HeldCall:
    """An intent running as an ``mcp_call``: its speech so far."""

    tool: IntentTool
    arguments: dict[str, str]
    spoken: list[str] = field(default_factory=list)
    error: str | None = None


class SpokenText:
    """What a turn said so far, as text deltas (sentences joined by a space)."""

    def __init__(self) -> None:
        self.count = 0

    def delta(self, utterance: str) -> TextDelta:
        self.count += 1
        return TextDelta(utterance if self.count == 1 else " " + utterance, utterance_end=True)

    def release(self, held: HeldCall, server_label: str) -> list[AssistantOutput]:
        """A held intent as its ``mcp_call`` (output: what it said), then that speech as text."""
        args = json.dumps(held.arguments, ensure_ascii=False)
        call = ServerToolCall(server_label, held.tool.name, args, " ".join(held.spoken) or None, held.error)
        return [call, *(self.delta(utterance) for utterance in held.spoken)]
