"""Token accounting for ``response.done.usage`` when the assistant reports none.

An estimate in the hosted service's units: about four characters of text per token, and audio at
ten tokens per second. A backend that counts (an LLM) reports :class:`Usage` and wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ovos_realtime_plugin.core.assistant import Usage
from ovos_realtime_plugin.core.items import Item

AUDIO_TOKENS_PER_S = 10


def estimate_tokens(text: str) -> int:
    return estimate_tokens_of(len(text))


def estimate_tokens_of(chars: int) -> int:
    return (chars + 3) // 4


def _count(items: Iterable[Item]) -> tuple[int, int]:
    """(text tokens, audio tokens) of ``items``."""
    text, audio_ms = _sum(items)
    return text, audio_ms * AUDIO_TOKENS_PER_S // 1000


def _sum(items: Iterable[Item]) -> tuple[int, int]:
    """(text tokens, audio ms) of ``items``. A finished item's count is kept on it."""
    counts = [item.counted or _counted(item) for item in items]
    if not counts:
        return 0, 0
    text, audio_ms = map(sum, zip(*counts, strict=True))
    return text, audio_ms


def _counted(item: Item) -> tuple[int, int]:
    counted = _count_item(item)
    if item.status != "in_progress":
        item.counted = counted
    return counted


class ContextTally:
    """A conversation's counts of the finished items its last response's context began with: the next
    context nearly always extends it, so a long conversation costs each response only its new items."""

    def __init__(self) -> None:
        self._items: tuple[Item, ...] = ()
        self._sum = (0, 0)
        self._changes = Item.changes

    def count(self, context: tuple[Item, ...]) -> tuple[int, int]:
        """(text tokens, audio tokens) of ``context``."""
        known = len(self._items)
        if self._changes != Item.changes or context[:known] != self._items:  # an item changed, left or moved
            known, self._sum = 0, (0, 0)
        rest = context[known:]
        done = next((n for n, item in enumerate(rest) if item.status == "in_progress"), len(rest))
        head, tail = _sum(rest[:done]), _sum(rest[done:])
        self._items, self._changes = context[:known + done], Item.changes
        self._sum = (self._sum[0] + head[0], self._sum[1] + head[1])
        return self._sum[0] + tail[0], (self._sum[1] + tail[1]) * AUDIO_TOKENS_PER_S // 1000


def _count_item(item: Item) -> tuple[int, int]:
    chars = len(item.arguments or "") + len(item.output or "")
    audio_ms = 0
    for part in item.content:
        chars += len(part.text or part.transcript or "")
        if part.audio:
            audio_ms += part.audio_ms
    return estimate_tokens_of(chars), audio_ms


def response_usage(context: tuple[Item, ...], output: Iterable[Item], reported: Usage | None,
                   tally: ContextTally | None = None) -> dict[str, Any]:
    """The response's usage in the GA shape (the edge trims it for beta)."""
    in_text, in_audio = (tally or ContextTally()).count(context)
    out_text, out_audio = _count(output)
    if reported is not None:
        in_text, in_audio = reported.input_tokens, 0
        out_text = max(0, reported.output_tokens - out_audio)
    input_details: dict[str, Any] = {"text_tokens": in_text, "audio_tokens": in_audio, "cached_tokens": 0,
                                     "image_tokens": 0, "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0,
                                                                                  "image_tokens": 0}}
    inputs, outputs = in_text + in_audio, out_text + out_audio
    return {"total_tokens": inputs + outputs, "input_tokens": inputs, "output_tokens": outputs,
            "input_token_details": input_details,
            "output_token_details": {"text_tokens": out_text, "audio_tokens": out_audio}}
