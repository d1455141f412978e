"""Conversation truncation: which oldest items go when the conversation is past its size limits.

``truncation: "auto"`` drops just enough to be within the limits again; ``{"type": "retention_ratio",
"retention_ratio": r}`` drops down to ``r`` of each limit, so truncation happens seldom (and a cached prefix
would stay put). ``"disabled"`` keeps everything up to the limits and then behaves as ``"auto"``: the limits
bound the server's memory, so they hold whatever the setting. Items still in use (being transcribed, or the
context or output of a running response) are never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from itertools import compress
from operator import not_

from ovos_realtime_plugin.core.config import RetentionRatio
from ovos_realtime_plugin.core.items import ITEM_ID, Item
from ovos_realtime_plugin.core.limits import SessionLimits
from ovos_realtime_plugin.core.usage import ContextTally, item_bytes


def oldest_to_drop(items: tuple[Item, ...], truncation: object, limits: SessionLimits,
                   busy: Callable[[], Container[str]] = frozenset, tally: ContextTally | None = None) -> list[str]:
    """Ids of the oldest items to drop so the conversation is within ``limits`` (empty when it is).

    ``tally`` keeps the conversation's size between calls, so a conversation within its limits costs only
    its new items; ``busy`` (the ids of the items in use) is asked for only when some have to go."""
    count, total = len(items), (tally or ContextTally()).totals(items)[2]
    if count <= limits.max_items and total <= limits.max_conversation_bytes:
        return []
    ratio = truncation.retention_ratio if isinstance(truncation, RetentionRatio) else 1.0
    max_items, max_bytes = int(limits.max_items * ratio), int(limits.max_conversation_bytes * ratio)
    in_use = busy()
    # the items not in use, oldest first; iterated in C, for a running response holds nearly all of them
    free = compress(items, map(not_, map(in_use.__contains__, map(ITEM_ID, items))))
    dropped: list[str] = []
    for item in free:
        if count <= max_items and total <= max_bytes:
            break
        dropped.append(item.id)
        count, total = count - 1, total - item_bytes(item)
    return dropped
