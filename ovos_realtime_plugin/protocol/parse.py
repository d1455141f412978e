"""One client frame → one typed, canonical client event, or the protocol's error for it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson

from ovos_realtime_plugin.core.errors import ProtocolError, invalid_value
from ovos_realtime_plugin.protocol import beta
from ovos_realtime_plugin.protocol.client_events import ALIASES, CLIENT_EVENTS, ClientEvent
from ovos_realtime_plugin.protocol.json_shape import MAX_DEPTH, check_shape
from ovos_realtime_plugin.protocol.validation import type_name, validate

BETA_ONLY = ("transcription_session.update",)


def supported_types(dialect: str) -> list[str]:
    types = list(CLIENT_EVENTS)
    return types + list(BETA_ONLY) if dialect == "beta" else types


@dataclass
class BadEvent(Exception):
    """A frame that could not be turned into an event; carries the client's ``event_id`` when it had one."""

    error: ProtocolError
    client_event_id: str | None


def parse_event(text: str | bytes, dialect: str) -> ClientEvent:
    """Parse one WebSocket frame. Raises :class:`BadEvent`."""
    if isinstance(text, bytes):
        raise BadEvent(ProtocolError("invalid_event",
                                     "Expected a text WebSocket message; binary frames are not supported."), None)
    try:
        data = _loads(text)
    except ValueError as exc:
        raise BadEvent(ProtocolError("invalid_json", f"Invalid event: failed to parse JSON value. {exc}"),
                       None) from None
    except RecursionError:
        raise BadEvent(ProtocolError("invalid_json", f"Invalid event: JSON nested deeper than {MAX_DEPTH} levels."),
                       None) from None
    if not isinstance(data, dict):
        raise BadEvent(ProtocolError("invalid_json", "Invalid event: expected a JSON object."), None)
    raw_id = data.get("event_id")
    event_id = raw_id if isinstance(raw_id, str) else None
    try:
        check_shape(data)
        return _typed(data, dialect)
    except ProtocolError as exc:
        raise BadEvent(exc, event_id) from None


_EVENT_ID = re.compile(r'"event_id"\s*:\s*"((?:[^"\\]|\\.){1,512})"')


def client_event_id(frame: str | bytes) -> str | None:
    """The ``event_id`` a frame carries, found without parsing it (for a frame refused before it is parsed)."""
    text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
    match = _EVENT_ID.search(text)
    if match is None:
        return None
    try:
        found = json.loads(f'"{match.group(1)}"')
    except ValueError:
        return None
    return found if isinstance(found, str) else None


def _loads(text: str) -> Any:
    """orjson (several times faster: a voice client sends dozens of frames a second); what orjson refuses
    goes to the standard library, which accepts a little more (``NaN``, a lone surrogate escape) and has
    the error messages the protocol's ``invalid_json`` quotes."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _typed(data: dict[str, Any], dialect: str) -> ClientEvent:
    kind = data.get("type")
    if kind is None:
        raise ProtocolError("missing_required_parameter", "Missing required parameter: 'type'.", "type")
    if not isinstance(kind, str):
        raise ProtocolError("invalid_type", "Invalid type for 'type': expected a string, but got "
                                            f"{type_name(kind)} instead.", "type")
    kind = ALIASES.get(kind, kind)
    if kind not in CLIENT_EVENTS and not (dialect == "beta" and kind in BETA_ONLY):
        raise invalid_value(kind, supported_types(dialect), "type")
    if dialect == "beta":
        data = _from_beta(data)
    data = {**data, "type": kind} if kind in CLIENT_EVENTS else data
    event = validate(CLIENT_EVENTS[data["type"]], data)
    return event  # type: ignore[return-value]


def _from_beta(data: dict[str, Any]) -> dict[str, Any]:
    kind = data["type"]
    data = dict(data)
    session = data.get("session")
    if kind == "transcription_session.update":
        if not isinstance(session, dict):
            raise ProtocolError("missing_required_parameter", "Missing required parameter: 'session'.", "session")
        return {**data, "type": "session.update", "session": beta.transcription_session_update(session)}
    if kind == "session.update" and isinstance(session, dict):
        data["session"] = beta.session_update(session)
    elif kind == "conversation.item.create" and isinstance(data.get("item"), dict):
        data["item"] = beta.item(data["item"])
    elif kind == "response.create" and isinstance(data.get("response"), dict):
        data["response"] = beta.response_params(data["response"])
    return data
