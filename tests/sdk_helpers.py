"""Reading events through the official SDK connections, validating each against the SDK's own types."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from openai.types.beta.realtime import RealtimeServerEvent as BetaEvent
from openai.types.realtime import RealtimeConversationItemUserMessageParam
from openai.types.realtime import RealtimeServerEvent as GaEvent
from pydantic import TypeAdapter

GA = TypeAdapter(GaEvent)
TEXT_FLOW = [
    "response.created", "response.output_item.added", "conversation.item.added", "response.content_part.added",
    "response.output_text.delta", "response.output_text.done", "response.content_part.done",
    "conversation.item.done", "response.output_item.done", "response.done",
]
"""A text response's events (GA), delta runs squeezed: see :func:`squeeze`."""
FUNCTION_CALL_FLOW = [
    "response.created", "response.output_item.added", "conversation.item.added",
    "response.function_call_arguments.delta", "response.function_call_arguments.done",
    "conversation.item.done", "response.output_item.done", "response.done",
]
"""A response that is one function call (GA, flow (c)), delta runs squeezed."""
BETA = TypeAdapter(BetaEvent)
TIMEOUT = 30.0


def check_typed(raw: dict[str, Any], beta: bool) -> Any:
    """Validate strictly with the SDK's union; the class picked must be the event's own type."""
    adapter = BETA if beta else GA
    if beta and raw["type"].startswith("transcription_session."):
        return raw  # known: not in the beta SDK union (PROTOCOL.md §2.2)
    event = adapter.validate_python(raw)
    assert event.type == raw["type"], f"{raw['type']} parsed as {type(event).__name__}"
    assert raw["event_id"].startswith("event_")
    return event


async def collect(conn: Any, until: str = "response.done", beta: bool = False,
                  limit: int = 500, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
    """Raw events up to and including the first of type ``until``, each validated; each within ``timeout``."""
    events: list[dict[str, Any]] = []
    for _ in range(limit):
        raw = json.loads(await asyncio.wait_for(conn.recv_bytes(), timeout))
        check_typed(raw, beta)
        events.append(raw)
        if raw["type"] == until:
            return events
    raise AssertionError(f"no {until} in {[e['type'] for e in events]}")


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def squeeze(names: list[str]) -> list[str]:
    """Runs of one delta type collapsed to one entry, for comparing orderings."""
    out: list[str] = []
    for name in names:
        if not (out and out[-1] == name and name.endswith(".delta")):
            out.append(name)
    return out


def user_text(text: str) -> RealtimeConversationItemUserMessageParam:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
