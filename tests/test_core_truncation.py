"""Conversation truncation in the sans-I/O core: past the item limit the oldest items go, never one a running
response holds — its context, or the item it is writing."""

from __future__ import annotations

from ovos_realtime_plugin.core.assistant import TextDelta
from ovos_realtime_plugin.core.limits import SessionLimits
from tests.sdk_helpers import types, user_text
from tests.test_core_sequences import TEXT_DONE, Core


def deleted(events: list[dict[str, object]]) -> list[object]:
    return [e["item_id"] for e in events if e["type"] == "conversation.item.deleted"]


def test_a_running_response_keeps_its_items_and_the_oldest_go_once_it_is_done() -> None:
    core = Core(session_limits=SessionLimits(max_items=3))
    first, second, third = (core.item(user_text(f"line {n}"))["item"]["id"] for n in range(3))
    rid = core.respond().request.response_id  # the context: all three
    opened = core.output(rid, TextDelta("an answer"))  # a fourth item: over the limit while it runs
    answer = opened[0]["item"]["id"]
    assert deleted(opened) == [] and core.item_ids() == [first, second, third, answer]
    done = core.end(rid)
    assert types(done)[:len(TEXT_DONE)] == TEXT_DONE
    more = core.send({"type": "conversation.item.create", "item": user_text("one more")})
    assert deleted(more) == [first, second]  # the response is over: the two oldest go
    assert core.item_ids() == [third, answer, more[0]["item"]["id"]]


def test_the_oldest_goes_first_when_nothing_runs() -> None:
    core = Core(session_limits=SessionLimits(max_items=2))
    ids = [core.item(user_text(f"line {n}"))["item"]["id"] for n in range(2)]
    events = core.send({"type": "conversation.item.create", "item": user_text("a third")})
    assert deleted(events) == ids[:1]
    assert core.item_ids()[0] == ids[1]
