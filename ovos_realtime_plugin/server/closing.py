"""How a session ends that the server ends: a connection refused with one ``error`` event and its close code, and
the assistant told to let go of what it holds. Used by the WebSocket server, the HTTP endpoints and WebRTC calls."""

from __future__ import annotations

import inspect
import logging

from ovos_realtime_plugin.core.assistant import Assistant
from ovos_realtime_plugin.core.errors import ProtocolError
from ovos_realtime_plugin.core.ids import event_id
from ovos_realtime_plugin.server.limits import CLOSE_SESSION_LIMIT
from ovos_realtime_plugin.server.outbox import encode
from ovos_realtime_plugin.server.transport import Transport

log = logging.getLogger(__name__)
CLOSE_AUTH = 3000
CLOSE_REQUEST = 4000


async def reject(transport: Transport, err: ProtocolError) -> None:
    code = {"invalid_api_key": CLOSE_AUTH, "server_error": 1011,
            "session_limit_reached": CLOSE_SESSION_LIMIT}.get(err.code or "", CLOSE_REQUEST)
    event = {"type": "error", "event_id": event_id(), "error": err.payload(None)}
    await transport.send([(event, encode(event))])
    await transport.close(code, f"{err.type}.{err.code}")


async def close_assistant(assistant: Assistant) -> None:
    """Release what the assistant holds for its session (its ``close()``, sync or async)."""
    try:
        result = assistant.close()
        if inspect.isawaitable(result):
            await result
    except Exception:
        log.exception("closing the assistant failed")
