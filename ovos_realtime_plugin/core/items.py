"""Conversation items as the core keeps them: one model for both wire dialects.

Content types are stored in their GA spelling (``output_text`` / ``output_audio``); the beta
spelling (``text`` / ``audio``) is produced at the edge by :mod:`ovos_realtime_plugin.protocol.render`.
Audio is kept as raw bytes in the format it arrived or was produced in, never base64.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from ovos_realtime_plugin.core.formats import AudioFormat
from ovos_realtime_plugin.core.states import ITEM, IllegalMove, ItemStatus, ItemTrigger, Machine


@dataclass
class Content:
    """One content part of a message item."""

    type: str
    text: str | None = None
    transcript: str | None = None
    audio: bytearray | None = None
    audio_format: AudioFormat | None = None
    image_url: str | None = None
    detail: str | None = None
    rendered_audio: tuple[int, str] | None = field(default=None, repr=False, compare=False)
    """(audio length, base64) of the last rendering: a retrieve renders an item's audio once, not once per call."""

    @property
    def audio_ms(self) -> int:
        """Length of the stored audio in milliseconds (0 when there is none)."""
        if self.audio is None or self.audio_format is None:
            return 0
        return self.audio_format.duration_ms(len(self.audio))


@dataclass
class EditLog:
    """How many times items that share it changed (one per conversation, one of its own for an item in none)."""

    count: int = 0


class _Status:
    """``Item.status``: the state of the item's machine (:data:`.states.ITEM`). Given when the item is made
    (``in_progress`` for one a response streams, ``completed`` for any other); set later, it moves the machine
    by the trigger that leads there, so only a move the table allows (or none) is accepted."""

    def __get__(self, item: Item | None, owner: type[Item]) -> ItemStatus:
        if item is None:
            return ItemStatus.COMPLETED  # the dataclass's default
        state: ItemStatus = item.__dict__["_life"].state
        return state

    def __set__(self, item: Item, status: ItemStatus | str) -> None:
        new = ItemStatus(status)
        life: Machine[ItemStatus, ItemTrigger] | None = item.__dict__.get("_life")
        if life is None:
            item.__dict__["_life"] = Machine(ITEM, new)
            return
        if new is life.state:
            return
        trigger = next((t for (s, t), to in ITEM.items() if s is life.state and to is new), None)
        if trigger is None:
            raise IllegalMove(f"ItemStatus: {life.state.value} → {new.value} is not allowed")
        life.fire(trigger)


@dataclass
class Item:
    """A conversation item: message, function call, function call output or an MCP item."""

    id: str
    type: str
    status: _Status = _Status()
    role: str | None = None
    content: list[Content] = field(default_factory=list)
    name: str | None = None
    call_id: str | None = None
    arguments: str | None = None
    output: str | None = None
    server_label: str | None = None
    tools: list[dict[str, Any]] | None = None
    error: dict[str, Any] | None = None
    counted: tuple[int, int, int] | None = field(default=None, init=False, repr=False, compare=False)
    """(text tokens, audio ms, bytes held) of a finished item, kept by :mod:`.usage`; :meth:`changed` forgets
    it."""
    edit_log: EditLog = field(default_factory=EditLog, init=False, repr=False, compare=False)
    """Counts the changes of this item and of every other item of its conversation (which gives it the
    conversation's own when it joins): a count kept over items is stale once one of their logs moves."""

    @property
    def life(self) -> Machine[ItemStatus, ItemTrigger]:
        """The machine that holds :attr:`status`; a response finishes its items through it."""
        life: Machine[ItemStatus, ItemTrigger] = self.__dict__["_life"]
        return life

    def changed(self) -> None:
        """A finished item's content changed (a transcript arrived, a truncate): count it again."""
        self.counted = None
        self.edit_log.count += 1

    def text(self) -> str:
        """The readable text of a message: typed text and transcripts, in order."""
        parts = [c.text if c.text is not None else c.transcript for c in self.content]
        return " ".join(p for p in parts if p)


ITEM_ID = attrgetter("id")
"""An item's id, as a key function that runs in C (``map(ITEM_ID, items)``)."""
