"""The rules by which several STT servers share the turns (engines/stt_pool.py), on OPM-style plugins that record
what they hear, with the test's own clock: equal servers take turns, a busy one is passed for a free one, a server
that fails is passed over for a while and tried again after, and a turn every server fails fails with the last
error. The same with real servers: tests/test_remote_stt_pool.py."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from ovos_realtime_plugin.core.stt import SttRequest
from ovos_realtime_plugin.engines.choice import EngineChoice, speech_choices
from ovos_realtime_plugin.engines.stt import PluginTranscriber
from ovos_realtime_plugin.engines.stt_pool import DOWN_FOR_S, TranscriberPool, per_server
from ovos_realtime_plugin.engines.worker import EngineThread
from tests.fixtures_speech import silence


class Server:
    """An OPM-style STT plugin standing for one server: answers its name, or fails, or holds until released."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.heard = 0
        self.failing = False
        self.holding = False
        self.started = threading.Event()
        self.release = threading.Event()

    def execute(self, audio: Any, language: str | None = None) -> str | None:
        self.heard += 1
        if self.holding:
            self.started.set()
            self.release.wait(30)
        return None if self.failing else self.name  # None: how ovos-stt-plugin-server says its server failed


class Pool:
    def __init__(self, count: int) -> None:
        self.now = 0.0
        self.servers = [Server(f"server {n}") for n in range(count)]
        self.pool = TranscriberPool([PluginTranscriber(s, "test-stt", EngineThread(f"stt-{s.name}"))
                                     for s in self.servers], [s.name for s in self.servers], clock=lambda: self.now)

    async def turn(self) -> str:
        return (await self.pool.hear(silence(100, 16000), 16000, SttRequest("en-US"))).text


@pytest.fixture
def pool() -> Iterator[Pool]:
    import ovos_plugin_manager.utils.audio  # noqa: F401  # imported before a server holds its thread
    made = Pool(2)
    yield made
    for server in made.servers:
        server.release.set()
    made.pool.close()


async def test_equal_servers_take_turns(pool: Pool) -> None:
    heard = [await pool.turn() for _ in range(4)]
    assert sorted(heard) == ["server 0", "server 0", "server 1", "server 1"]


async def test_a_turn_goes_to_the_server_that_is_free(pool: Pool) -> None:
    holder, other = pool.servers
    holder.holding = True  # the first turn goes to the first server: it holds that turn
    first = asyncio.ensure_future(pool.turn())
    await asyncio.to_thread(holder.started.wait, 30)
    assert [await pool.turn() for _ in range(3)] == [other.name] * 3  # the held one is busy every time
    holder.release.set()
    assert await first == holder.name and holder.heard == 1


async def test_a_failing_server_is_passed_over_then_tried_again(pool: Pool) -> None:
    down, up = pool.servers
    down.failing = True
    heard = [await pool.turn() for _ in range(4)]
    assert heard == [up.name] * 4  # the failed turn moved on to the other server
    assert down.heard == 1  # and it was not asked again while down
    pool.now += DOWN_FOR_S + 1
    down.failing = False
    heard = [await pool.turn() for _ in range(2)]
    assert down.name in heard and down.heard == 2


async def test_a_turn_every_server_fails_fails_with_the_last_error(pool: Pool) -> None:
    for server in pool.servers:
        server.failing = True
    with pytest.raises(Exception, match="returned no transcript"):
        await pool.turn()
    assert [s.heard for s in pool.servers] == [1, 1]
    with pytest.raises(Exception, match="returned no transcript"):  # all down: still tried, never waits
        await pool.turn()
    assert [s.heard for s in pool.servers] == [2, 2]


def test_several_urls_make_one_plugin_per_server_unless_kept_in_order() -> None:
    choice = EngineChoice("stt", "ovos-stt-plugin-server", {"url": ["http://a/stt", "http://b/stt"], "timeout": 3})
    assert [c.config for c in per_server(choice)] == [{"url": ["http://a/stt"], "timeout": 3},
                                                      {"url": ["http://b/stt"], "timeout": 3}]
    assert per_server(EngineChoice("stt", "ovos-stt-plugin-server", {"url": "http://a/stt"})) == []
    assert per_server(EngineChoice("stt", "ovos-stt-plugin-whisper-fitted", {"url": ["a", "b"]})) == []
    conf: dict[str, Any] = {"realtime": {"engines": {"spread_stt_servers": False}}}
    assert not speech_choices(conf, {}, stt="none", tts="none", vad="none").spread_stt_servers
    assert speech_choices({}, {}, stt="none", tts="none", vad="none").spread_stt_servers
