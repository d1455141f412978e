"""The ovos-realtime daemon: the Realtime server in front of OVOS skills on a messagebus.

| step                           | standalone (``--standalone``)               | joining a device's bus          |
|--------------------------------|---------------------------------------------|---------------------------------|
| 1. messagebus                  | :class:`EmbeddedBus` on loopback (NODELAY)  | the one in mycroft.conf / --bus |
| 2. one shared bus connection   | answers ``mycroft.realtime.is_alive/is_ready`` | same                         |
| 3. Realtime server listens     | ``/healthz`` 503, sessions refused          | same                            |
| 4. skills                      | ovos-core's skills service, a child process | the device's ovos-core          |
| 5. skills ready                | ``/healthz`` 200, sessions accepted, status ready | same                      |
| the skills service dies        | restarted (bounded), ``/healthz`` 503 meanwhile | (the device's business)     |

The speech engines (STT, TTS, VAD) load on their own threads while steps 3-4 run; a model that cannot load
fails start-up. The intent catalogue (intents as tools) listens from step 2, so it hears the skills register,
and asks the intent services once they are ready.

Every Realtime connection gets its own :class:`OvosAssistant` (its own OVOS session) on the one bus
connection; the server closes it when the connection ends. With an ``llm`` section, the LLM answers what OVOS
does not, or everything (:mod:`ovos_realtime_plugin.llm.responders`). Stopping undoes the steps newest first:
sessions closed, bus connection closed, skills service stopped (SIGTERM, reaped), bus stopped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from ovos_realtime_plugin.bus.client import BusConnection
from ovos_realtime_plugin.bus.embedded_bus import EmbeddedBus
from ovos_realtime_plugin.bus.errors import ServiceStartError
from ovos_realtime_plugin.bus.intents import IntentCatalogue
from ovos_realtime_plugin.bus.skills_service import SkillsService, SkillsServiceSettings
from ovos_realtime_plugin.bus.status import ServiceStatus
from ovos_realtime_plugin.bus.supervisor import supervise
from ovos_realtime_plugin.daemon_settings import SERVICE, DaemonSettings
from ovos_realtime_plugin.engines.speech import LoadedSpeech
from ovos_realtime_plugin.llm.responders import Responders
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.speech_engines import SpeechEngines
from ovos_realtime_plugin.server.tasks import cancel_and_wait

if TYPE_CHECKING:  # openai (~30 MB) is imported only when an LLM is configured
    from ovos_realtime_plugin.llm.backend import ChatBackend

logger = logging.getLogger(__name__)
T = TypeVar("T")
JOINED_READY_POLL_S = 60.0
"""Joining a device's bus: how often to log that its skills are still not ready (we keep waiting)."""


class Daemon:
    """Runs with :meth:`run`; the server gets ``speech`` (STT, TTS, VAD) as it is, or what ``load_speech``
    returns (called on a worker thread during start-up)."""

    def __init__(self, settings: DaemonSettings, speech: SpeechEngines | None = None,
                 load_speech: Callable[[], LoadedSpeech] | None = None) -> None:
        self.settings = settings
        self.speech = speech
        self.load_speech = load_speech
        self.loaded_speech: LoadedSpeech | None = None
        self._loading: asyncio.Future[LoadedSpeech] | None = None
        """The engines loading on their thread; a stop waits for them to close them (piper's espeak-ng program)."""
        self.intents: IntentCatalogue | None = None
        self.status = ServiceStatus(SERVICE)
        self.embedded_bus: EmbeddedBus | None = None
        self.bus: BusConnection | None = None
        self.server: RealtimeServer | None = None
        self.skills: SkillsService | None = None
        self.llm: ChatBackend | None = None
        self.responders: Responders | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Start, serve until ``stop`` is set, stop. Raises :class:`ServiceStartError` or a ``BusError``
        when start-up fails, :class:`ServiceExitedError` when the skills service dies more often than it may be
        restarted; always stops what was started."""
        self.status.set_started()
        try:
            started = await _unless(stop, self.start())
            if started is not None:
                await _unless(stop, self._watch())
        except Exception as exc:
            self.status.set_error(str(exc) or type(exc).__name__)  # logged there
            raise
        finally:
            await self.stop()

    async def start(self) -> bool:
        """Steps 1-5; ``True`` once serving."""
        s = self.settings
        address = s.bus
        if s.skills is not None:
            self.embedded_bus = EmbeddedBus(address.host, address.port, address.route)
            await asyncio.to_thread(self.embedded_bus.start)
            address = dataclasses.replace(address, port=self.embedded_bus.port)
        self.bus = BusConnection(address.host, address.port, address.route, source=f"ovos-{SERVICE}")
        await self.bus.connect(timeout=s.bus_timeout_s)
        self.status.bind(self.bus)
        if self.load_speech is not None:
            self._loading = asyncio.ensure_future(asyncio.to_thread(self.load_speech))
        self.intents = IntentCatalogue(self.bus, lang=s.server.language)
        self.llm = None
        if s.llm is not None:
            from ovos_realtime_plugin.llm.backend import ChatBackend  # imports openai: only with an LLM configured

            self.llm = ChatBackend(s.llm)
        self.responders = Responders(self.bus, s.assistant, self.intents, self.llm)
        self.server = RealtimeServer(s.server, self.responders,
                                     speech=self.speech)
        await self.server.start(ready=False)
        self.server.probe.watch(lambda: self.bus is not None and self.bus.connected, self._skills_ready)
        self.server.probe.skills_down = lambda: self.bus is not None and self.bus.skills_down is not None
        self.status.set_alive()
        skills_settings = dataclasses.replace(s.skills or SkillsServiceSettings(), bus_host=address.host,
                                              bus_port=address.port, bus_route=address.route)
        if s.skills is not None:
            self.skills = SkillsService(skills_settings)
            await self.skills.start()
        else:
            await _wait_device_skills(SkillsService(skills_settings))
        if self._loading is not None:  # shielded: a cancelled start-up leaves the engines for stop() to close
            self.loaded_speech = await asyncio.shield(self._loading)
            self.server.speech = self.loaded_speech.engines
        await self.intents.refresh()
        self.server.ready = True
        self.status.set_ready()
        return True

    def _skills_ready(self) -> bool:
        return self.server is not None and self.server.ready and self.bus is not None and self.bus.skills_down is None

    async def stop(self) -> None:
        """Stop what was started, newest first; each step runs even if an earlier one failed."""
        self.status.set_stopping()
        steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("server", self._stop_server), ("bus connection", self._close_bus),
            ("skills service", self._stop_skills), ("messagebus", self._stop_embedded_bus)]
        for name, step in steps:
            try:
                await step()
            except Exception:
                logger.exception("stopping the %s failed", name)

    async def _watch(self) -> None:
        """Returns never while all is well; restarts a skills service that exits on its own (bounded:
        :mod:`.bus.supervisor`) and raises once it exits too often."""
        if self.skills is None:
            await asyncio.Event().wait()
            return
        assert self.bus is not None
        await supervise(self.skills, self.bus, self._skills_back)

    async def _skills_back(self) -> None:
        """The restarted skills service is ready: learn its intents again."""
        if self.intents is not None:
            await self.intents.refresh()

    async def _stop_server(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            await server.stop()  # closes every session; each one's assistant is closed

    async def _close_bus(self) -> None:
        if self.intents is not None:
            self.intents.close()
            self.intents = None
        loading, self._loading = self._loading, None
        if loading is not None and self.loaded_speech is None:  # start-up ended before the engines were taken
            try:
                self.loaded_speech = await loading
            except Exception as exc:  # start-up reported it, or stopped before it could
                logger.debug("the speech engines did not load: %s", exc)
        if self.loaded_speech is not None:
            self.loaded_speech.close()
            self.loaded_speech = None
        responders, self.responders = self.responders, None
        if responders is not None:
            responders.close()  # before the bus closes: OVOS forgets our fallback registration
        llm, self.llm = self.llm, None
        if llm is not None:
            await llm.close()
        self.status.unbind()
        bus, self.bus = self.bus, None
        if bus is not None:
            await bus.close()

    async def _stop_skills(self) -> None:
        skills, self.skills = self.skills, None
        if skills is not None:
            await asyncio.to_thread(skills.stop)

    async def _stop_embedded_bus(self) -> None:
        bus, self.embedded_bus = self.embedded_bus, None
        if bus is not None:
            await asyncio.to_thread(bus.stop)


async def _wait_device_skills(skills: SkillsService) -> None:
    """A device's ovos-core may take minutes to load: keep asking, and say so now and then."""
    s = skills.settings
    while True:
        try:
            await skills.wait_ready(JOINED_READY_POLL_S)
            return
        except ServiceStartError as exc:
            logger.warning("the OVOS skills on ws://%s:%d%s are not ready after %g s; still waiting",
                           s.bus_host, s.bus_port, s.bus_route, JOINED_READY_POLL_S)
            logger.debug("%s", exc)


async def _unless(stop: asyncio.Event, work: Awaitable[T]) -> T | None:
    """``work``'s result, or ``None`` (``work`` cancelled) when ``stop`` is set first."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await cancel_and_wait([task, stopped])
    return None if task.cancelled() else task.result()
