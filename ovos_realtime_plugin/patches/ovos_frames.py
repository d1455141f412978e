"""ovos-bus-client's ``dig_for_message`` made cheap: the same search, without reading every frame's source.

``dig_for_message()`` finds the bus message a skill is handling by looking at its callers' arguments; OVOS calls
it wherever a message is not passed along (``SessionManager.get()``, a skill's ``speak``, the TTS templates). It
walks the stack with ``inspect.stack()``, which also reads every frame's source lines. Measured with py-spy in
the skills service on "what time is it": 76 % of the date-time skill's handler. :func:`cheap_message_digging`
puts in its place a walk over the same frames (the callers, at most ``max_records``) checking the same
arguments (positional and keyword-only) for a ``Message``, returning the same one.
"""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any


def cheap_message_digging() -> None:
    """Replace ``ovos_bus_client.message.dig_for_message``, and every module's copy of it (idempotent)."""
    from ovos_bus_client import message as bus_message  # type: ignore[import-untyped]

    original = bus_message.dig_for_message
    if getattr(original, "_realtime_cheap", False):
        return
    message_type = bus_message.Message

    def dig_for_message(max_records: int = 10) -> Any:
        frame: FrameType | None = sys._getframe(1)
        for _ in range(max_records):
            if frame is None:
                break
            code = frame.f_code
            names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
            if names:
                values = frame.f_locals
                for name in names:
                    if isinstance(values[name], message_type):
                        return values[name]
            frame = frame.f_back
        return None

    dig_for_message.__doc__ = original.__doc__
    dig_for_message._realtime_cheap = True  # type: ignore[attr-defined]
    dig_for_message._realtime_original = original  # type: ignore[attr-defined]
    for module in list(sys.modules.values()):  # those that imported it by name already
        if getattr(module, "dig_for_message", None) is original:
            setattr(module, "dig_for_message", dig_for_message)  # noqa: B010
