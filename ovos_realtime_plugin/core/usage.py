"""Token accounting for ``response.done.usage`` when the assistant reports none.

An estimate in the hosted service's units: about four characters of text per token, and audio at
ten tokens per second. A backend that counts (an LLM) reports :class:`Usage` and wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ovos_realtime_plugin.core.assistant import Usage
from ovos_realtime_plugin.core.items import EditLog, Item
from ovos_realtime_plugin.core.states import ItemStatus

AUDIO_TOKENS_PER_S = 10


def estimate_tokens(text: str) -> int:
    return estimate_tokens_of(len(text))


def estimate_tokens_of(chars: int) -> int:
    return (chars + 3) // 4


Counts = tuple[int, int, int]
"""(text tokens, audio ms, bytes held) of one item or of several."""


def _count(items: Iterable[Item]) -> tuple[int, int]:
    """(text tokens, audio tokens) of ``items``."""
    text, audio_ms, _ = _sum(items)
    return text, audio_ms * AUDIO_TOKENS_PER_S // 1000


def _sum(items: Iterable[Item]) -> Counts:
    """The counts of ``items``. A finished item's counts are kept on it."""
    counts = [item.counted or _counted(item) for item in items]
    if not counts:
        return 0, 0, 0
    text, audio_ms, size = map(sum, zip(*counts, strict=True))
    return text, audio_ms, size


def _counted(item: Item) -> Counts:
    counted = _count_item(item)
    if item.status is not ItemStatus.IN_PROGRESS:
        item.counted = counted
    return counted


class ContextTally:
    """Counts of a sequence of items that nearly always extends the last one counted (a response's context,
    the conversation): the finished items it began with are kept summed, so a long conversation costs
    each count only its new items."""

    def __init__(self) -> None:
        self._items: tuple[Item, ...] = ()
        self._sum: Counts = (0, 0, 0)
        self._logs: dict[int, tuple[EditLog, int]] = {}  # the summed items' edit logs, as their counts were

    def count(self, context: tuple[Item, ...]) -> tuple[int, int]:
        """(text tokens, audio tokens) of ``context``."""
        text, audio_ms, _ = self.totals(context)
        return text, audio_ms * AUDIO_TOKENS_PER_S // 1000

    def totals(self, items: tuple[Item, ...]) -> Counts:
        """(text tokens, audio ms, bytes held) of ``items``."""
        known = len(self._items)
        if any(log.count != seen for log, seen in self._logs.values()):  # an item changed: count afresh
            known, self._sum, self._logs = 0, (0, 0, 0), {}
        elif items[:known] != self._items:  # items left or moved: count afresh unless the oldest just left
            known = self._drop_head(items)
        rest = items[known:]
        done = next((n for n, item in enumerate(rest) if item.status is ItemStatus.IN_PROGRESS), len(rest))
        head, tail = _sum(rest[:done]), _sum(rest[done:])
        self._items = items[:known + done]
        self._note_logs(rest[:done])
        self._sum = _plus(self._sum, head)
        return _plus(self._sum, tail)

    def _note_logs(self, added: tuple[Item, ...]) -> None:
        """The summed items' logs, now that ``added`` joined them, with the counts the sum is good for."""
        logs = {id(log): log for log, _ in self._logs.values()}
        logs.update((id(item.edit_log), item.edit_log) for item in added)
        self._logs = {key: (log, log.count) for key, log in logs.items()}

    def _drop_head(self, items: tuple[Item, ...]) -> int:
        """Forget the counted items that left from the front, if that is what happened (as when a long
        conversation is truncated); how many counted items are still known (0: count afresh)."""
        counted = self._items
        first = items[0] if items else None
        gone = next((n for n, item in enumerate(counted) if item is first), len(counted))
        kept = counted[gone:]
        if not kept or items[:len(kept)] != kept:
            self._items, self._sum, self._logs = (), (0, 0, 0), {}
            return 0
        self._items = kept
        self._sum = _plus(self._sum, _sum(counted[:gone]), -1)  # the kept items' logs are among those noted
        return len(kept)


def _plus(a: Counts, b: Counts, sign: int = 1) -> Counts:
    return a[0] + sign * b[0], a[1] + sign * b[1], a[2] + sign * b[2]


def item_bytes(item: Item) -> int:
    """What an item holds: its audio bytes and the characters of its text, arguments and output."""
    return (item.counted or _count_item(item))[2]


def _count_item(item: Item) -> Counts:
    chars = held = len(item.arguments or "") + len(item.output or "")
    audio_ms = 0
    for part in item.content:
        chars += len(part.text or part.transcript or "")
        if part.audio:
            audio_ms += part.audio_ms
        held += len(part.audio or b"") + len(part.text or "") + len(part.transcript or "")
    return estimate_tokens_of(chars), audio_ms, held


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
