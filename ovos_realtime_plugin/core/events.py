"""Server events as the core produces them: dialect-free, with core objects as values.

The core names each event in the canonical (GA) spelling and puts its own objects in the fields: an
:class:`~.items.Item` or a :class:`~.items.Content` part, a :class:`SessionView`, a :class:`WithAudio` item,
a response stream. The edge (:mod:`ovos_realtime_plugin.protocol.render`) renders them, at once, into the
JSON of the connection's dialect (GA or beta); the core never knows which.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ovos_realtime_plugin.core.config import SessionConfig
from ovos_realtime_plugin.core.items import Item

Emit = Callable[[str, dict[str, Any]], None]
"""How a part of the core emits one event: ``emit(kind, fields)``."""


@dataclass(frozen=True)
class SessionView:
    """The session as ``session.created`` / ``session.updated`` show it."""

    config: SessionConfig
    session_id: str
    expires_at: int


@dataclass(frozen=True)
class WithAudio:
    """An item shown with its audio (``conversation.item.retrieved``)."""

    item: Item


class EventRenderer(Protocol):
    """Turns one core event into the wire events of a connection (none, one, or more)."""

    @property
    def dialect(self) -> str: ...

    @property
    def mcp_items(self) -> bool:
        """Whether the dialect has MCP items (``mcp_call``, ``mcp_list_tools``): output indexes depend on it."""
        ...

    def render(self, kind: str, fields: dict[str, Any]) -> list[dict[str, Any]]: ...


class Validate(Protocol):
    """Validates a client's dict against a config model, raising ``ProtocolError`` as the edge words it."""

    def __call__(self, model: type[Any], data: object, prefix: str = "") -> Any: ...
