"""The usage tally a conversation keeps: the same counts as counting the whole context afresh, as the
conversation grows, when an item is changed, removed or still in progress."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ovos_realtime_plugin.core.conversation import Conversation
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


def test_an_item_changed_in_another_conversation_costs_this_one_no_recount() -> None:
    tally = ContextTally()
    mine = (message(0, "a short one"), message(1, "another"))
    counted = tally.count(mine)
    mine[0].counted = (99, 0, 0)  # what a recount would read instead of counting the item
    message(2, "someone else's").changed()
    assert tally.count(mine) == counted
    mine[0].changed()
    assert tally.count(mine) == fresh(mine)


def test_a_removed_item_and_an_item_in_progress() -> None:
    tally = ContextTally()
    first, second, third = message(0, "one two three"), message(1, "four", "in_progress"), message(2, "five six")
    assert tally.count((first, second)) == fresh((first, second))
    second.content[0].text = "four and then a good deal more, now that it is complete"
    second.status = "completed"
    assert tally.count((first, second, third)) == fresh((first, second, third))
    assert tally.count((first, third)) == fresh((first, third))


def totals(items: tuple[Item, ...]) -> tuple[int, int, int]:
    return ContextTally().totals(items)


def test_the_oldest_items_leaving_keep_the_sum_without_a_recount() -> None:
    tally = ContextTally()
    items = [message(n, "word " * n) for n in range(40)]
    assert tally.totals(tuple(items)) == totals(tuple(items))
    for _ in range(5):  # as a long conversation past its limits: the oldest go, a new one comes
        del items[:2]
        items.append(message(len(items) + 100, "a new turn"))
        assert tally.totals(tuple(items)) == totals(tuple(items))
    assert tally.totals(tuple(items))[2] == sum(len(item.content[0].text or "") for item in items)


def test_items_of_one_conversation_share_one_edit_log() -> None:
    """A change of any item in a conversation is one count moving, whatever the number of items."""
    conversation, other = Conversation("conv_1"), Conversation("conv_2")
    for n in range(3):
        conversation.insert(message(n, "word " * n))
    outsider = message(9, "elsewhere")
    other.insert(outsider)
    tally = ContextTally()
    counted = tally.count(conversation.items)
    conversation.items[0].counted = (99, 0, 0)  # what a recount would read instead of counting the item
    outsider.changed()
    assert tally.count(conversation.items) == counted  # another conversation's change: no recount
    conversation.items[2].content[0].text = "a much longer text than before"
    conversation.items[2].changed()
    assert conversation.edits.count == 1
    assert tally.count(conversation.items) == (99 + fresh(conversation.items[1:])[0], 0)


STEPS = st.lists(st.tuples(st.sampled_from(["add", "drop_head", "remove", "change", "insert_first", "finish"]),
                           st.integers(0, 50)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(STEPS, st.booleans())
def test_any_edit_of_the_conversation_counts_as_afresh(steps: list[tuple[str, int]], joined: bool) -> None:
    """Items on their own, or all in one conversation (one edit log): the tally is always a fresh count."""
    conversation = Conversation("conv_1")

    def message_in(n: int, text: str, status: str = "completed") -> Item:
        item = message(n, text, status)
        if joined:
            conversation.insert(item)
        return item

    tally, items = ContextTally(), [message_in(n, "x" * n) for n in range(5)]
    for n, (op, arg) in enumerate(steps):
        if op == "add":
            items.append(message_in(1000 + n, "y" * arg, "in_progress" if arg % 3 == 0 else "completed"))
        elif op == "drop_head":
            del items[:arg % 4]
        elif op == "remove" and items:
            del items[arg % len(items)]
        elif op == "change" and items:
            changed = items[arg % len(items)]
            changed.content[0].text = "z" * arg
            changed.status = "completed"
            changed.changed()
        elif op == "finish":  # a response's item streams on, then completes (no changed(): it was in progress)
            for item in items:
                if item.status == "in_progress":
                    item.content[0].text = (item.content[0].text or "") + "v" * arg
                    item.status = "completed" if arg % 2 else "in_progress"
                    break
        elif op == "insert_first":
            items.insert(0, message_in(2000 + n, "w" * arg))
        assert tally.totals(tuple(items)) == totals(tuple(items))
