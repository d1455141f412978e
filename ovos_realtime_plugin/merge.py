"""Laying one nested settings dict over another (session updates, OVOS configuration)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Whole = Callable[[str, Mapping[str, Any], Mapping[str, Any]], bool]
"""``(key, old, new) → True`` when ``new`` replaces ``old`` whole instead of merging key by key."""


def _never(key: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    return False


def deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any], whole: Whole = _never) -> dict[str, Any]:
    """``extra`` laid over ``base``: nested mappings merge (unless ``whole`` says so), anything else replaces."""
    merged = dict(base)
    for key, value in extra.items():
        old = merged.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping) and not whole(key, old, value):
            merged[key] = deep_merge(old, value, whole)
        else:
            merged[key] = value
    return merged
