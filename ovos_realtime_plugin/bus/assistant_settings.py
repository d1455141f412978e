"""How the OVOS assistant of each Realtime connection behaves (:class:`~.assistant.OvosAssistant`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ovos_realtime_plugin.bus.dialogs import DEFAULT_LOCALE_DIR
from ovos_realtime_plugin.bus.session import DEFAULT_PIPELINE


@dataclass(frozen=True)
class OvosAssistantSettings:
    pipeline: tuple[str, ...] = DEFAULT_PIPELINE
    turn_timeout_s: float = 15.0
    """No ``ovos.utterance.handled`` (or question) within this → :class:`SkillsTimeoutError`."""
    grace_s: float = 0.15
    """How long to keep listening for late ``speak``s after the end of a turn."""
    reannounce_end_s: float = 0.03
    """Quiet this long after a ``speak``: emit audio_output_end again, then after 3x, 9x ... that. A skill in
    ``speak(wait=True)`` subscribes to it only *after* emitting its ``speak``; under load our end can arrive
    first, and the skill would then wait 15 s."""
    default_lang: str | None = None
    """None: the ``lang`` of mycroft.conf."""
    location: Mapping[str, Any] | None = None
    """The sessions' location (the skills read its timezone from there); None: the ``location`` of mycroft.conf."""
    source: str = "ovos-realtime"
    locale_dir: Path = DEFAULT_LOCALE_DIR
    fallback_skill_id: str = "ovos-realtime.fallback"
    """The skill id ovos-realtime registers with OVOS as a fallback skill when an LLM answers what OVOS cannot."""
    fallback_priority: int = 95
    """Its fallback priority: (0, 5] high, (5, 90] medium, (90, 101] low (``ovos-skill-fallback-unknown``: 100)."""
    mcp_server_label: str = "ovos"
    """The ``server_label`` of the MCP tool whose tools are the OVOS intents."""
    early_answer_skills: frozenset[str] = frozenset({"ovos-skill-date-time.openvoiceos",
                                                     "ovos-skill-hello-world.openvoiceos"})
    """Skills that only answer (never act): their answer to a paused turn is prepared before the turn has ended
    (:mod:`.early_answer`). Empty: nothing runs before a turn ends."""
    intent_output_wait_s: float = 1.0
    """With that MCP tool declared, how long an intent's speech is held for its ``mcp_call`` output when its
    handler goes on running (a skill that speaks, then waits); after that the speech streams."""
