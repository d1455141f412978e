"""One client connection (WebSocket or WebRTC data channel): frames into the session core, effects
carried out, events out in order.

All sends go through one outbox drained by one writer task, so events leave in the order the core
produced them whatever task produced them. Blocking work runs in the engines' worker threads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from ovos_realtime_plugin.core import effects as fx
from ovos_realtime_plugin.core.assistant import Assistant, AssistantRequest
from ovos_realtime_plugin.core.client_events import SessionClose
from ovos_realtime_plugin.core.session import SessionCore
from ovos_realtime_plugin.protocol.parse import BadEvent, client_event_id, parse_event
from ovos_realtime_plugin.server import metrics
from ovos_realtime_plugin.server.failures import CoreBug, to_core
from ovos_realtime_plugin.server.limits import DEFAULT_FRAMES_PER_S, FrameRate, too_fast
from ovos_realtime_plugin.server.outbox import DEFAULT_BUDGET_BYTES, Outbox
from ovos_realtime_plugin.server.speech_driver import SpeechDriver
from ovos_realtime_plugin.server.speech_engines import SpeechEngines
from ovos_realtime_plugin.server.tasks import cancel_and_wait
from ovos_realtime_plugin.server.transport import Transport

log = logging.getLogger(__name__)
CLOSE_SLOW_CLIENT = 1008


class SessionLog(logging.LoggerAdapter[logging.Logger]):
    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"[{self.extra['session'] if self.extra else '-'}] {msg}", kwargs


class Connection:
    def __init__(self, transport: Transport, session: SessionCore, assistant: Assistant,
                 speech: SpeechEngines | None, *, outbox_budget_bytes: int = DEFAULT_BUDGET_BYTES,
                 max_frames_per_s: float = DEFAULT_FRAMES_PER_S) -> None:
        self.transport = transport
        self.session = session
        self.assistant = assistant
        self.log = SessionLog(log, {"session": session.id})
        self.metrics = metrics.ConnectionMetrics()
        self._outbox = Outbox(outbox_budget_bytes)
        self._closing: asyncio.Task[None] | None = None
        self.overflowed = asyncio.Event()
        """Set when the client left more than the outbox's budget unread and is being disconnected."""
        self._rate = FrameRate(max_frames_per_s, time.monotonic())
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._cancellers: set[asyncio.Future[None]] = set()
        self.speech = SpeechDriver(session, speech, self.flush, self.log)

    async def run(self) -> None:
        writer = asyncio.create_task(self._write())
        try:
            self.session.start()
            self.flush()
            async for message in self.transport.frames():
                if self._receive(message):
                    break
                self.flush()
                if self._closing is not None:
                    break
        finally:
            self.flush()
            self._outbox.end()
            ended = cancel_and_wait(self._tasks.values())
            self.speech.close()
            await ended  # the assistant's own clean-up (e.g. stopping a skill) is done before it is closed
            await writer
            if self._closing is not None:
                await self._closing

    def _receive(self, message: str | bytes) -> bool:
        """Apply one frame; ``True`` when the client asked to close the session."""
        self.metrics.received(message)
        if not self._rate.allow(time.monotonic()):  # refused unparsed; its event_id says which one was dropped
            self.session.error(too_fast(self._rate.per_second), client_event_id(message))
            return False
        try:
            event = parse_event(message, self.session.renderer.dialect)
        except BadEvent as bad:
            self.log.debug("bad event: %s", bad.error.message)
            self.session.error(bad.error, bad.client_event_id)
            return False
        if isinstance(event, SessionClose):
            return True
        if self.log.isEnabledFor(logging.DEBUG):
            self.log.debug("client event %s", event.type)
        self.session.handle(event)
        return False

    def flush(self) -> None:
        """Carry out the core's effects and queue its events (never blocks)."""
        session = self.session
        while True:
            effects = session.pop_effects()
            for event in session.pop_events():
                self.speech.trace.saw(event)
                if not self._outbox.put(event) and self._closing is None:
                    self._closing = asyncio.create_task(self._close_slow_client())
            if not effects:
                return
            for effect in effects:
                self._execute(effect)

    async def _write(self) -> None:
        while (batch := await self._outbox.take()) is not None:
            if not await self.transport.send(batch):
                return
            self._outbox.written(batch)
            self.metrics.sent(batch)

    async def _close_slow_client(self) -> None:
        """The client left more than the outbox's budget unread: what was queued is dropped, the socket closed."""
        budget = self._outbox.budget_bytes
        self.overflowed.set()
        self.log.warning("closing: the client left more than %d bytes unread", budget)
        await self.transport.close(CLOSE_SLOW_CLIENT, f"slow client: more than {budget} bytes of events unread")

    def _execute(self, effect: fx.Effect) -> None:
        if isinstance(effect, fx.RunAssistant):
            rid = effect.request.response_id
            self.speech.trace.mark("utterance_sent")
            self._tasks[rid] = asyncio.create_task(self._run_assistant(effect.request))
        elif isinstance(effect, fx.CancelResponse):
            task = self._tasks.get(effect.response_id)  # it leaves _tasks when it has ended
            if task is not None:
                self._cancel(task)
            self.speech.cancel(effect.response_id)
        elif isinstance(effect, fx.Anticipate):
            self._anticipate(effect)
        else:
            self.speech.execute(effect)

    def _anticipate(self, effect: fx.Anticipate) -> None:
        """Let the assistant prepare the answer to a paused turn, its first words synthesized early too (the OVOS
        skills' assistant does; others have nothing to prepare)."""
        session = self.session

        def speak_early(text: str) -> None:  # the core says which of its sentences to synthesize ahead
            try:
                session.early_answer(effect.item_id, text)
            except Exception:  # preparing is optional: the response speaks all the same
                self.log.exception("preparing the early answer's speech failed")
                return
            self.speech.trace.mark("answer_prepared")
            self.flush()

        try:
            self.assistant.anticipate(effect, self.session.id, speak_early if effect.audio else None)
        except Exception:  # preparing is optional: the response answers all the same
            self.log.exception("anticipating an answer failed")

    def _cancel(self, task: asyncio.Task[None]) -> None:
        """Cancel a response's assistant, again if the cancellation got lost (see :mod:`.tasks`)."""
        canceller = cancel_and_wait([task])
        self._cancellers.add(canceller)
        canceller.add_done_callback(self._cancellers.discard)

    async def _run_assistant(self, request: AssistantRequest) -> None:
        rid, session = request.response_id, self.session
        try:
            async for output in self.assistant.respond(request):
                self.speech.trace.mark_first("first_answer")
                to_core(session.on_assistant_output, rid, output)
                self.flush()
            to_core(session.on_assistant_end, rid)
        except asyncio.CancelledError:
            raise
        except CoreBug as bug:  # our own bug: its traceback at ERROR; the response fails, the connection goes on
            self.log.error("the session core failed on an assistant output", exc_info=bug.__cause__)
            session.on_assistant_error(rid, "internal error")
        except Exception as exc:  # an assistant failure fails this response, never the connection
            self.log.warning("assistant failed: %s", exc, exc_info=self.log.isEnabledFor(logging.DEBUG))
            session.on_assistant_error(rid, str(exc) or type(exc).__name__)
        finally:
            self._tasks.pop(rid, None)
            self.flush()

