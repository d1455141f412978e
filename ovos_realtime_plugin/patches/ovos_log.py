"""OVOS's ``LOG`` made cheap to call: the same logger names, without reading every frame's source.

``ovos_utils.log.LOG`` names each record after its caller (``module:function:line``) and finds the caller
with ``inspect.stack()``, which builds the source context of every frame on the stack: ~10 ms per call at
the depth a plugin runs at here, paid even when the record is below the level and dropped. The piper plugin
logs once per sentence, so every sentence spoken paid it. :func:`cheap_caller_names` gives ``LOG`` the same
name from the caller's frame directly (its module's ``__name__``, function and line); in diagnostic mode it
also logs the bus message being handled, as OVOS's own does.
"""

from __future__ import annotations

import sys
from typing import Any


def cheap_caller_names() -> None:
    """Install the cheap caller lookup on ``ovos_utils.log.LOG`` (idempotent)."""
    from ovos_utils.log import LOG  # type: ignore[import-untyped]

    if getattr(LOG, "_realtime_cheap", False):
        return

    def real_logger(cls: Any) -> Any:
        caller = sys._getframe(2)  # 0: this, 1: LOG.debug() / info() ..., 2: whoever logged
        prefix = f"{cls.name} - " if cls.name is not None else ""
        name = f"{prefix}{caller.f_globals.get('__name__', '')}:{caller.f_code.co_name}:{caller.f_lineno}"
        logger = cls.create_logger(name, tostdout=True)
        if cls.diagnostic_mode:  # as OVOS's own: the bus message being handled, if any
            from ovos_bus_client.message import dig_for_message  # type: ignore[import-untyped]

            message = dig_for_message()
            if message:
                logger.debug("DIAGNOSTIC - source bus message %s", message.serialize())
        return logger

    LOG._get_real_logger = classmethod(real_logger)
    LOG._realtime_cheap = True
