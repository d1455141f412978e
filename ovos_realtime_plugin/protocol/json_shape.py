"""Depth and size limits on a client frame's JSON, checked before anything else looks at it.

A value nested hundreds of levels deep parses, validates and is stored, but breaks whatever later
walks it recursively (pydantic's dump, ``json.dumps``): so a frame deeper or larger than these limits is
refused up front with one ``error``, as any other bad event.
"""

from __future__ import annotations

from typing import Any

from ovos_realtime_plugin.core.errors import ProtocolError

MAX_DEPTH = 32
"""Containers nested in one frame, the event object itself counting as 1 (a tool's JSON schema rarely needs 8)."""
MAX_NODES = 50_000
"""Values (containers, strings, numbers…) in one frame; a 15 MiB ``append`` is one string."""


def check_shape(data: Any) -> None:
    """Raise :class:`ProtocolError` when ``data`` is nested deeper than :data:`MAX_DEPTH` or has more than
    :data:`MAX_NODES` values. Iterative, so no input can exhaust the stack."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(data, 1, ())]
    nodes = 0
    while stack:
        value, depth, path = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise ProtocolError("invalid_value", f"Invalid event: more than {MAX_NODES} JSON values in one event.")
        if isinstance(value, dict):
            children: Any = value.items()
        elif isinstance(value, list):
            children = enumerate(value)
        else:
            continue
        if depth > MAX_DEPTH:
            where = _dotted(path)
            raise ProtocolError("invalid_value", f"Invalid '{where}': JSON nested deeper than {MAX_DEPTH} levels.",
                                where or None)
        stack.extend((child, depth + 1, path + (key,)) for key, child in children)


def _dotted(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text = f"{text}[{part}]" if isinstance(part, int) else (f"{text}.{part}" if text else str(part))
    return text
