"""What one client may reach of OVOS: the skills and intents its API key allows (HiveMind-style access lists).

An access is anything with ``allow_skills`` (skill ids, ``None`` for all) and ``deny_intents`` (intent message
types, ``<skill_id>:<intent>``, or tool names) — the server's API key entries are. It filters two things: the
intents listed as tools and run by name, and the connection's OVOS session, whose ``blacklisted_skills`` /
``blacklisted_intents`` make ovos-core's pipeline skip the rest, so an utterance cannot reach them either.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any, Protocol

from ovos_realtime_plugin.bus.intents import IntentTool


class Access(Protocol):
    @property
    def allow_skills(self) -> frozenset[str] | None: ...

    @property
    def deny_intents(self) -> frozenset[str]: ...


def allows(access: Access | None, tool: IntentTool) -> bool:
    if access is None:
        return True
    if access.allow_skills is not None and tool.skill_id not in access.allow_skills:
        return False
    return tool.message_type not in access.deny_intents and tool.name not in access.deny_intents


def permitted(access: Access | None, tools: Iterable[IntentTool],
              names: Collection[str] | None = None) -> list[IntentTool]:
    """The intent tools a client may be offered — by the ``ovos`` MCP tool and by the LLM alike: those its
    access allows, and of them only ``names`` (an MCP tool's ``allowed_tools``) when given."""
    return [t for t in tools if allows(access, t) and (names is None or t.name in names)]


def restrict_session(session: dict[str, Any], access: Access | None, known: Iterable[IntentTool]) -> None:
    """Blacklist in the OVOS session dict every known skill the access does not allow, and its denied intents."""
    if access is None:
        return
    tools = list(known)
    skills = set(session.get("blacklisted_skills") or ())
    if access.allow_skills is not None:
        skills |= {t.skill_id for t in tools} - access.allow_skills
    intents = set(session.get("blacklisted_intents") or ()) | {
        t.message_type for t in tools if t.message_type in access.deny_intents or t.name in access.deny_intents}
    intents |= {i for i in access.deny_intents if ":" in i}
    session["blacklisted_skills"] = sorted(skills)
    session["blacklisted_intents"] = sorted(intents)
