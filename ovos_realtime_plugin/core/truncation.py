"""Conversation truncation: which oldest items go when the conversation is past its size limits.

``truncation: "auto"`` drops just enough to be within the limits again; ``{"type": "retention_ratio",
"retention_ratio": r}`` drops down to ``r`` of each limit, so truncation happens seldom (and a cached prefix
would stay put). ``"disabled"`` keeps everything up to the limits and then behaves as ``"auto"``: the limits
bound the server's memory, so they hold whatever the setting. Items still in use (being transcribed, or the
context of a running response) are never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ovos_realtime_plugin.core.config import RetentionRatio
from ovos_realtime_plugin.core.items import Item
from ovos_realtime_plugin.core.limits import SessionLimits


def item_bytes(item: Item) -> int:
    """What an item holds: its audio bytes and the characters of its text, arguments and output."""
    size = len(item.arguments or "") + len(item.output or "")
    for part in item.content:
        size += len(part.audio or b"") + len(part.text or "") + len(part.transcript or "")
    return size


def oldest_to_drop(items: Sequence[Item], truncation: object, limits: SessionLimits,
                   busy: Iterable[str] = ()) -> list[str]:
    """Ids of the oldest items to drop so the conversation is within ``limits`` (empty when it is)."""
    sizes = [item_bytes(item) for item in items]
    count, total = len(items), sum(sizes)
    if count <= limits.max_items and total <= limits.max_conversation_bytes:
        return []
    ratio = truncation.retention_ratio if isinstance(truncation, RetentionRatio) else 1.0
    max_items, max_bytes = int(limits.max_items * ratio), int(limits.max_conversation_bytes * ratio)
    in_use = set(busy)
    dropped: list[str] = []
    for item, size in zip(items, sizes, strict=True):
        if count <= max_items and total <= max_bytes:
            break
        if item.id in in_use:
            continue
        dropped.append(item.id)
        count, total = count - 1, total - size
    return dropped
