"""The usage tally a conversation keeps: the same counts as counting the whole context afresh, as the
conversation grows, when an item is changed, removed or still in progress."""

from __future__ import annotations

from ovos_realtime_plugin.core.items import Content, Item
from ovos_realtime_plugin.core.usage import ContextTally


def message(n: int, text: str, status: str = "completed") -> Item:
    return Item(id=f"item_{n}", type="message", status=status, role="user",
                content=[Content(type="input_text", text=text)])


def fresh(context: tuple[Item, ...]) -> tuple[int, int]:
    return ContextTally().count(context)


def test_a_growing_conversation_counts_as_afresh() -> None:
    tally, items = ContextTally(), []
    for n in range(30):
        items.append(message(n, "word " * n))
        assert tally.count(tuple(items)) == fresh(tuple(items))
    assert tally.count(tuple(items))[0] == sum((len("word " * n) + 3) // 4 for n in range(30))


def test_a_changed_item_is_counted_again() -> None:
    tally = ContextTally()
    items = (message(0, "a short one"), message(1, "another short one"))
    tally.count(items)
    items[0].content[0].text = "a much longer text than it was before it was changed"
    items[0].changed()
    assert tally.count(items) == fresh(items)


def test_a_removed_item_and_an_item_in_progress() -> None:
    tally = ContextTally()
    first, second, third = message(0, "one two three"), message(1, "four", "in_progress"), message(2, "five six")
    assert tally.count((first, second)) == fresh((first, second))
    second.content[0].text = "four and then a good deal more, now that it is complete"
    second.status = "completed"
    assert tally.count((first, second, third)) == fresh((first, second, third))
    assert tally.count((first, third)) == fresh((first, third))
