"""Keep the standalone daemon's skills service running: restart it when it dies, a bounded number of times.

The supervisor moves the bus connection's :class:`~.states.SkillsAvailability` (``up → down → restarting → up``,
the table in :mod:`.states`); ``bus.skills_down`` is read from it.

| the skills service ...            | what happens                                                              |
|-----------------------------------|---------------------------------------------------------------------------|
| exits on its own                  | down: ``bus.skills_down`` says why (turns fail at once, ``/healthz`` 503) |
|                                   | after a back-off (``restart_backoff_s``, doubled per recent restart) it   |
|                                   | is restarting: started again and waited for; sessions stay connected      |
| fails to start                    | down again, until the next back-off                                       |
| is ready again                    | the intent catalogue is refreshed; up                                     |
| exits ``max_restarts`` + 1 times  | within ``restart_window_s``: :class:`ServiceExitedError` (the daemon      |
|                                   | stops, exit status 1) — a service that cannot stay up is not hidden       |
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from ovos_realtime_plugin.bus.client import BusConnection
from ovos_realtime_plugin.bus.errors import ServiceExitedError, ServiceStartError
from ovos_realtime_plugin.bus.skills_service import SkillsService, SkillsServiceSettings
from ovos_realtime_plugin.bus.states import SkillsAvailability, SkillsTrigger

logger = logging.getLogger(__name__)


class RestartBudget:
    """At most ``max_restarts`` restarts within any ``restart_window_s``; the pause before each doubles with the
    restarts already in the window."""

    def __init__(self, settings: SkillsServiceSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._clock = clock
        self._recent: deque[float] = deque()

    def next_delay(self) -> float | None:
        """The pause before the next restart (counted now), or ``None`` when the budget is spent."""
        s, now = self._settings, self._clock()
        while self._recent and now - self._recent[0] > s.restart_window_s:
            self._recent.popleft()
        if len(self._recent) >= s.max_restarts:
            return None
        delay = s.restart_backoff_s * (1 << len(self._recent))
        self._recent.append(now)
        return delay


async def supervise(skills: SkillsService, bus: BusConnection, restarted: Callable[[], Awaitable[None]]) -> None:
    """Returns never; raises :class:`ServiceExitedError` once the restart budget is spent."""
    budget = RestartBudget(skills.settings)
    availability = bus.skills_availability
    while True:
        code = await skills.wait_exit()
        why = f"the OVOS skills service exited (status {code}) and is being restarted"
        availability.fire(SkillsTrigger.EXITED, why)
        logger.warning("the OVOS skills service exited with status %d; see %s", code, skills.stdout_log)
        await _restart(skills, budget, code, availability)
        await restarted()
        availability.fire(SkillsTrigger.READY)
        logger.info("the OVOS skills service is back")


async def _restart(skills: SkillsService, budget: RestartBudget, code: int, availability: SkillsAvailability) -> None:
    s = skills.settings
    while (delay := budget.next_delay()) is not None:
        logger.info("restarting the OVOS skills service in %g s", delay)
        await asyncio.sleep(delay)  # a back-off between real restarts, not a wait for an event
        availability.fire(SkillsTrigger.RESTART)
        try:
            await skills.start()
            return
        except ServiceStartError as exc:
            availability.fire(SkillsTrigger.START_FAILED)
            logger.warning("restarting the OVOS skills service failed: %s", exc)
    raise ServiceExitedError(f"the OVOS skills service exited (last status {code}) more than {s.max_restarts} "
                             f"times within {s.restart_window_s:g} s; see {skills.stdout_log}")
