"""One turn on the bus: the messages OVOS sends for one of our utterances (or direct intent runs), until
``ovos.utterance.handled`` and a short grace window for late ``speak``s.

Every message we emit carries the Realtime response id under :data:`TURN_KEY`; OVOS copies the context
into everything it does for that utterance, so the messages of each turn are told apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from typing import TypeVar

from ovos_realtime_plugin.bus import names
from ovos_realtime_plugin.bus.assistant_settings import OvosAssistantSettings
from ovos_realtime_plugin.bus.client import BusMessage
from ovos_realtime_plugin.bus.errors import BusDisconnectedError, SkillsTimeoutError
from ovos_realtime_plugin.bus.states import FOLLOWING, TURN_TABLE, TurnState, TurnTrigger
from ovos_realtime_plugin.core.states import Machine

T = TypeVar("T")

TURN_KEY = "ovos_realtime_response_id"

RELEASE = BusMessage("ovos-realtime:release-held-speech", {}, {})
"""Not a bus message: :func:`turn_messages` yields it when a held intent's wait is over."""


class Turn:
    """One response's (or direct intent run's) bus messages, routed here by :data:`TURN_KEY`; where it stands is
    its :class:`~.states.Machine` (the OVOS turn's table in :mod:`.states`)."""

    def __init__(self, response_id: str, initial: TurnState = TurnState.RUNNING):
        self.id = response_id
        self.queue: asyncio.Queue[BusMessage | str] = asyncio.Queue()  # str: the bus dropped, why
        self._machine: Machine[TurnState, TurnTrigger] = Machine(TURN_TABLE, initial)
        self.hold_until: float | None = None
        self.handoff: BusMessage | None = None
        """OVOS's request to our fallback skill (state ``HANDED``): the fallback answers in its context."""
        self.acknowledged_early = 0  # its first speaks, acknowledged before a response took the turn (early_answer)

    @property
    def state(self) -> TurnState:
        return self._machine.state

    @property
    def following(self) -> bool:
        """A response still follows the turn's messages (ending now would leave OVOS answering nobody)."""
        return self._machine.state in FOLLOWING

    def fire(self, trigger: TurnTrigger) -> TurnState:
        return self._machine.fire(trigger)

    def hand_over(self, request: BusMessage) -> None:
        """OVOS chose our fallback skill: the rest of this turn is the fallback's to answer."""
        self._machine.fire(TurnTrigger.HANDED)
        self.handoff = request


async def turn_messages(turn: Turn, settings: OvosAssistantSettings,
                        reannounce_end: Callable[[], None]) -> AsyncGenerator[BusMessage, None]:
    """``turn``'s messages until its end and the grace window after it (then the turn has ``ENDED``);
    :data:`RELEASE` when a held intent's wait is over. While a skill is quiet after a ``speak``,
    ``reannounce_end`` is called (to emit audio_output_end again). Raises :class:`SkillsTimeoutError` or
    :class:`BusDisconnectedError`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.turn_timeout_s
    grace_until: float | None = None
    reannounce_at: float | None = None
    reannounce_after = settings.reannounce_end_s
    while True:
        wake = grace_until if grace_until is not None else deadline
        if reannounce_at is not None:
            wake = min(wake, reannounce_at)
        if turn.hold_until is not None:
            wake = min(wake, turn.hold_until)
        try:
            item = await next_within(turn.queue, max(0.0, wake - loop.time()))
        except asyncio.TimeoutError:
            now = loop.time()
            if grace_until is not None and now >= grace_until:
                turn.fire(TurnTrigger.ENDED)
                return
            if turn.hold_until is not None and now >= turn.hold_until:
                turn.hold_until = None
                yield RELEASE
                continue
            if reannounce_at is not None and now >= reannounce_at:
                reannounce_after *= 3
                reannounce_at = now + reannounce_after
                reannounce_end()
            elif now >= deadline:
                raise SkillsTimeoutError(
                    f"OVOS skills did not finish answering within {settings.turn_timeout_s:g} s") from None
            continue
        if isinstance(item, str):
            raise BusDisconnectedError(f"OVOS messagebus connection lost while skills were answering ({item})")
        yield item
        if names.is_speak(item.type):
            reannounce_after = settings.reannounce_end_s
            reannounce_at = loop.time() + reannounce_after
            if item.data.get("expect_response") and grace_until is None:
                grace_until = loop.time() + settings.grace_s
        elif names.is_intent_failure(item.type):
            turn.fire(TurnTrigger.NOT_MATCHED)
        elif item.type == names.UTTERANCE_HANDLED and grace_until is None:
            if turn.state is TurnState.NO_MATCH:  # nothing will speak after a failure: no grace needed
                turn.fire(TurnTrigger.ENDED)
                return
            grace_until = loop.time() + settings.grace_s


async def next_within(queue: asyncio.Queue[T], timeout: float) -> T:
    """``queue.get()`` within ``timeout`` (else ``TimeoutError``), never losing a cancellation.

    ``asyncio.wait_for`` on Python 3.10/3.11 returns the item instead of raising ``CancelledError`` when the
    cancellation and the item arrive together; our own audio_output echoes make that common here.
    """
    getter = asyncio.ensure_future(queue.get())
    try:
        done, _ = await asyncio.wait({getter}, timeout=timeout)
    finally:
        if not getter.done():
            getter.cancel()
    if not done:
        raise asyncio.TimeoutError
    return getter.result()
