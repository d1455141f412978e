"""The conversation: ordered items, addressed by id, inserted after ``previous_item_id``."""

from __future__ import annotations

from ovos_realtime_plugin.core.errors import ProtocolError, item_not_found
from ovos_realtime_plugin.core.items import EditLog, Item
from ovos_realtime_plugin.core.usage import ContextTally

ROOT = "root"


class Conversation:
    def __init__(self, conversation_id: str) -> None:
        self.id = conversation_id
        self._items: list[Item] = []
        self._by_id: dict[str, Item] = {}
        self.edits = EditLog()  # every change of an item here
        self.tally = ContextTally()  # usage counts of the context responses share
        self.size = ContextTally()  # what the whole conversation holds, for its limits

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._by_id

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(self._items)

    def get(self, item_id: str, param: str = "item_id") -> Item:
        try:
            return self._by_id[item_id]
        except KeyError:
            raise item_not_found(item_id, param) from None

    def insert(self, item: Item, previous_item_id: str | None = None) -> str | None:
        """Add ``item`` (at the end, first for ``root``, or after an existing item); returns its predecessor's id."""
        if item.id in self._by_id:
            raise ProtocolError("invalid_value", f"Item with id '{item.id}' already exists.", "item.id")
        if previous_item_id is None:
            index = len(self._items)
        elif previous_item_id == ROOT:
            index = 0
        else:
            index = self._items.index(self.get(previous_item_id, "previous_item_id")) + 1
        self._items.insert(index, item)
        self._by_id[item.id] = item
        self.edits.count += item.edit_log.count  # a count kept over this item before it joined is stale too
        item.edit_log = self.edits
        return self._items[index - 1].id if index > 0 else None

    def delete(self, item_id: str) -> Item:
        item = self.get(item_id)
        self._items.remove(item)
        del self._by_id[item_id]
        return item
