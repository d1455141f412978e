"""A session core with this edge's rendering and validation: what a transport opens per connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ovos_realtime_plugin.core import session as core
from ovos_realtime_plugin.core.limits import SessionLimits
from ovos_realtime_plugin.core.ratelimit import RateLimitSettings
from ovos_realtime_plugin.protocol.render import Renderer
from ovos_realtime_plugin.protocol.validation import validate


class RealtimeSession(core.SessionCore):
    """:class:`ovos_realtime_plugin.core.session.SessionCore` speaking ``dialect`` (``ga`` or ``beta``)."""

    def __init__(self, *, dialect: str = "ga", kind: str = "realtime", model: str = "gpt-realtime",
                 clock: Callable[[], float], limits: RateLimitSettings | None = None,
                 defaults: dict[str, Any] | None = None, language: str | None = None,
                 early_transcripts: bool = True, session_limits: SessionLimits | None = None) -> None:
        super().__init__(renderer=Renderer(dialect), validate=validate, kind=kind, model=model, clock=clock,
                         limits=limits, defaults=defaults, language=language, early_transcripts=early_transcripts,
                         session_limits=session_limits)
