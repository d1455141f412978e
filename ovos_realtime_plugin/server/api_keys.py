"""API keys: the plain ``api_keys`` list and per-key entries with a name, limits and permissions.

``"realtime": {"keys": [{"key": "sk-...", "name": "kitchen tablet", "allow_skills": [...], "deny_intents": [...],
"allow_llm": true, "max_sessions": 4}]}``. A presented key is compared with every configured one in constant
time; keys are never logged (a key's ``name`` is, and its ``repr`` hides the key).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ApiKey:
    key: str = field(repr=False)
    name: str
    allow_skills: frozenset[str] | None = None
    """Skill ids this key may use; ``None``: every skill."""
    deny_intents: frozenset[str] = frozenset()
    allow_llm: bool = True
    max_sessions: int | None = None


def keys_from_config(plain: Iterable[str], entries: Iterable[dict[str, Any]]) -> tuple[ApiKey, ...]:
    """Every configured key: the plain ones (all permissions) and the ``keys`` entries."""
    keys = [ApiKey(key, f"key {index + 1}") for index, key in enumerate(sorted(set(plain)))]
    for index, entry in enumerate(entries):
        allow = entry.get("allow_skills")
        max_sessions = entry.get("max_sessions")
        keys.append(ApiKey(key=str(entry["key"]), name=str(entry.get("name") or f"entry {index + 1}"),
                           allow_skills=None if allow is None else frozenset(map(str, allow)),
                           deny_intents=frozenset(map(str, entry.get("deny_intents") or ())),
                           allow_llm=bool(entry.get("allow_llm", True)),
                           max_sessions=None if max_sessions is None else int(max_sessions)))
    return tuple(keys)


def find_key(keys: Iterable[ApiKey], presented: str | None) -> ApiKey | None:
    """The entry whose key is ``presented``; every key is compared, each in constant time."""
    given = (presented or "").encode()
    found: ApiKey | None = None
    for entry in keys:
        if hmac.compare_digest(entry.key.encode(), given) and presented:
            found = entry
    return found
