"""The embedded skills service's entry: ovos-core's own, with OVOS's stack walks made cheap and padatious
matching inline — each giving what the original gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ovos_bus_client import message as bus_message
from ovos_bus_client.message import Message
from ovos_padatious import intent_manager
from ovos_padatious.intent_container import IntentContainer

from ovos_realtime_plugin.bus.skills_service import CHILD
from ovos_realtime_plugin.patches import padatious
from ovos_realtime_plugin.patches.ovos_frames import cheap_message_digging


@pytest.fixture(scope="module")
def digs() -> tuple[Any, Any]:
    """(the original ``dig_for_message``, the cheap one)."""
    original = bus_message.dig_for_message
    cheap_message_digging()
    cheap = bus_message.dig_for_message
    return getattr(cheap, "_realtime_original", original), cheap


def through(depth: int, dig: Any, **kwargs: Any) -> Any:
    """Call ``dig`` ``depth`` frames below here, with nothing in between but a counter and a plain local."""
    if depth == 0:
        return dig(**kwargs)
    message = Message("a local, not an argument")  # noqa: F841  (only arguments count)
    return through(depth - 1, dig, **kwargs)


def handler(message: Message, dig: Any, depth: int = 0, **kwargs: Any) -> Any:
    return through(depth, dig, **kwargs)


def keyword_only(*, msg: Message, dig: Any) -> Any:
    return dig()


@pytest.mark.parametrize("depth", [0, 3, 8, 9, 12])
def test_dig_for_message_finds_what_the_original_finds(digs: tuple[Any, Any], depth: int) -> None:
    original, cheap = digs
    sent = Message("speak", {"utterance": "hi"})
    found = [handler(sent, dig, depth) for dig in (original, cheap)]
    assert found[0] is found[1]
    assert (found[1] is sent) == (depth <= 8)  # the handler is frame depth + 2 up; dig looks 10 up
    assert handler(sent, cheap, 12, max_records=20) is sent
    assert keyword_only(msg=sent, dig=cheap) is sent is keyword_only(msg=sent, dig=original)
    assert cheap() is None is original()


def test_modules_that_imported_dig_for_message_get_the_cheap_one(digs: tuple[Any, Any]) -> None:
    from ovos_bus_client import session

    assert session.dig_for_message is digs[1] is not digs[0]


def test_padatious_matches_inline_as_on_its_thread_pool(tmp_path: Path) -> None:
    container = IntentContainer(str(tmp_path))
    container.add_intent("time", ["what time is it", "tell me the time", "what's the time"])
    container.add_intent("weather", ["what is the weather", "is it going to rain", "weather forecast"])
    container.add_intent("lights", ["turn on the {room} lights", "switch the lights on in the {room}"])
    container.train(single_thread=True)
    queries = ["what time is it", "will it rain today", "turn on the kitchen lights", "play some music"]

    def matches() -> list[list[tuple[str, float, dict[str, str]]]]:
        return [[(m.name, m.conf, m.matches) for m in container.calc_intents(q)] for q in queries]

    pooled = matches()
    saved = intent_manager.ThreadPoolExecutor
    try:
        padatious.match_intents_inline()
        assert intent_manager.ThreadPoolExecutor is padatious.InlineExecutor
        assert matches() == pooled
    finally:
        intent_manager.ThreadPoolExecutor = saved
    assert pooled[0][0][0] == "time" and max(pooled[2], key=lambda m: m[1])[2] == {"room": "kitchen"}


def test_the_child_is_ovos_cores_own_entry_point_with_its_arguments() -> None:
    done = subprocess.run([sys.executable, "-m", CHILD, "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--disable-installer" in done.stdout and "Skill Manager" in done.stdout
