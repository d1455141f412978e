"""The real OVOS stack, for the tests about OVOS: the embedded messagebus on a free port and ovos-core's
skills service (hello-world, date-time and ``tests/skills``), started once per test session.

Cold start is ~70 s on 2 cores while padatious trains; the intent cache is kept under
``$OVOS_REALTIME_TEST_CACHE/data`` (default ``~/.cache/ovos-realtime-tests``), so later runs start in ~10 s.
The skills service's config and logs go to this run's pytest tmp dir (``ovos-skills-service*/``).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ovos_realtime_plugin.bus.client import BusConnection, BusMessage
from ovos_realtime_plugin.bus.embedded_bus import EmbeddedBus
from ovos_realtime_plugin.bus.skills_service import SkillsService, SkillsServiceSettings

TIME_LIKE = re.compile(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|noon|midnight|"
                       r"\d{1,2}:\d{2})\b", re.IGNORECASE)
"""What the date-time skill's answer to "what time is it" contains."""
CACHE_DIR = Path(os.environ.get("OVOS_REALTIME_TEST_CACHE", "~/.cache/ovos-realtime-tests")).expanduser()
SKILLS_DIR = Path(__file__).parent / "skills"
TEST_SKILL_ID = "ovos-realtime-test-skill.test"


@dataclass
class OvosStack:
    bus: EmbeddedBus
    skills: SkillsService

    @property
    def port(self) -> int:
        return self.bus.port

    def restart_bus(self) -> None:
        """Stop the messagebus (every client sees its connection drop) and start it again, same port."""
        self.bus.stop()
        self.bus = EmbeddedBus(self.bus.host, self.bus.port, self.bus.route)
        self.bus.start()

    def stop_bus(self) -> None:
        self.bus.stop()

    def start_bus(self) -> None:
        self.bus = EmbeddedBus(self.bus.host, self.bus.port, self.bus.route)
        self.bus.start()


async def next_of_type(queue: asyncio.Queue[BusMessage], msg_type: str, timeout: float = 5.0) -> BusMessage:
    async def find() -> BusMessage:
        while True:
            msg = await queue.get()
            if msg.type == msg_type:
                return msg
    return await asyncio.wait_for(find(), timeout)


async def observe(port: int, session_id: str) -> tuple[BusConnection, asyncio.Queue[BusMessage]]:
    """A second, independent client that records everything said in ``session_id``."""
    observer = BusConnection(port=port, source="test-observer")
    await observer.connect()
    seen: asyncio.Queue[BusMessage] = asyncio.Queue()
    observer.subscribe(session_id, seen.put_nowait)
    return observer, seen


def drain(queue: asyncio.Queue[BusMessage]) -> list[BusMessage]:
    """What the observer has seen so far (and not taken yet)."""
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


@pytest.fixture(scope="session")
async def ovos_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[OvosStack]:
    bus = EmbeddedBus(port=0)
    bus.start()
    skills = SkillsService(SkillsServiceSettings(
        bus_port=bus.port,
        state_dir=tmp_path_factory.mktemp("ovos-skills-service"),  # config and logs: this run's own
        data_dir=CACHE_DIR / "data",  # the padatious intent cache, shared by every run
        extra_skills={TEST_SKILL_ID: "ovos_realtime_test_skill:RealtimeTestSkill"},
        pythonpath=(SKILLS_DIR,),
        report_offline=True,
    ))
    stack = OvosStack(bus, skills)
    try:
        await skills.start()
        yield stack
    finally:
        await asyncio.to_thread(skills.stop)
        stack.bus.stop()


@pytest.fixture
async def ovos_bus(ovos_stack: OvosStack) -> AsyncIterator[BusConnection]:
    """A fresh connection for one test (``await bus.close()`` is done for you)."""
    connection = BusConnection(port=ovos_stack.port)
    await connection.connect()
    yield connection
    await connection.close()
