"""The messagebus connection — the only module that imports ovos-bus-client.

Threads: ovos-bus-client's WebSocket reader runs on its own thread (``run_in_thread``) and sends go
through one sender thread (order kept; the event loop never blocks on a socket). Every callback
from those threads is handed to the event loop with ``call_soon_threadsafe`` and nothing more:
parsing, routing by ``context["session"]["session_id"]`` and drop notification happen on the loop.

ovos-bus-client's own reconnect is not used: it sleeps 5-60 s inside its error callback, never
clears ``connected_event`` and dispatches handlers on a thread pool (reordering messages). Ours
reconnects with a short back-off and tells every subscriber when the connection drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from ovos_bus_client.client import MessageBusClient
from ovos_bus_client.message import Message
from ovos_bus_client.session import Session
from ovos_utils.lang import standardize_lang_tag

from ovos_realtime_plugin.bus import names
from ovos_realtime_plugin.bus.errors import BusDisconnectedError, BusUnavailableError
from ovos_realtime_plugin.bus.states import SkillsAvailability

logger = logging.getLogger(__name__)

OnMessage = Callable[["BusMessage"], None]
OnDrop = Callable[[str], None]
S = TypeVar("S")


@dataclass(frozen=True)
class BusMessage:
    """One message as seen on the bus: ``{"type", "data", "context"}``."""

    type: str
    data: dict[str, Any]
    context: dict[str, Any]

    @property
    def session(self) -> dict[str, Any] | None:
        session = self.context.get("session")
        return session if isinstance(session, dict) else None

    @property
    def session_id(self) -> str | None:
        session = self.session
        sid = session.get("session_id") if session else None
        return sid if isinstance(sid, str) else None


def new_session(session_id: str, lang: str | None = None, pipeline: Sequence[str] = (),
                location: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A fresh serialized OVOS ``Session`` (reads ``mycroft.conf`` defaults: location unless given, units ...)."""
    if session_id == "default":
        raise ValueError("'default' is the device's own OVOS session; a remote client needs its own")
    session: dict[str, Any] = Session(session_id, lang=lang, pipeline=list(pipeline) or None,
                                      location_prefs=dict(location) if location else None).serialize()
    return session


def standard_lang(tag: str) -> str:
    """``en-us`` → ``en-US``; OVOS's spelling of a BCP-47 tag."""
    return str(standardize_lang_tag(tag))


class Subscription:
    """Delivery of one session's messages to a callback, on the event loop. ``cancel()`` ends it."""

    def __init__(self, owner: BusConnection, session_id: str, on_message: OnMessage, on_drop: OnDrop | None):
        self.session_id = session_id
        self.on_message = on_message
        self.on_drop = on_drop
        self._owner = owner

    def cancel(self) -> None:
        self._owner._unsubscribe(self)


class TypeSubscription:
    """Delivery of every message of one type, whatever its session (status queries, broadcasts)."""

    def __init__(self, owner: BusConnection, msg_type: str, on_message: OnMessage):
        self.msg_type = msg_type
        self.on_message = on_message
        self._owner = owner

    def cancel(self) -> None:
        self._owner._unsubscribe_type(self)


class _Client(MessageBusClient):  # type: ignore[misc]
    """A ``MessageBusClient`` whose callbacks only hand over to the loop, and that reconnects itself."""

    client: Any  # websocket.WebSocketApp, replaced on every reconnect

    def __init__(self, host: str, port: int, route: str, owner: BusConnection, reconnect_max_s: float):
        self._owner = owner
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._delay = self._min_delay = 0.05
        self._max_delay = reconnect_max_s
        super().__init__(host=host, port=port, route=route, ssl=False)

    def on_open(self, *_args: Any) -> None:
        self._delay = self._min_delay
        self.connected_event.set()
        self._owner._from_thread(self._owner._on_up)

    def on_message(self, *args: Any) -> None:
        self._owner._from_thread(self._owner._on_raw, args[-1])

    def on_error(self, *args: Any) -> None:
        self.connected_event.clear()
        self._owner._from_thread(self._owner._on_down, f"{type(args[-1]).__name__}: {args[-1]}")

    def on_close(self, *_args: Any) -> None:
        self.connected_event.clear()
        self._owner._from_thread(self._owner._on_down, "connection closed")

    def run_forever(self) -> None:
        """Connect, and after every drop reconnect with a doubling back-off, until ``close()``."""
        self.started_running = True
        while True:
            try:
                self.client.run_forever()
            except Exception:
                logger.exception("messagebus reader failed")
            if self._closing.wait(self._delay):
                return
            self._delay = min(self._delay * 2, self._max_delay)
            with self._lock:
                if self._closing.is_set():
                    return
                self.client = self.create_client()

    def send(self, raw: str) -> None:
        self.client.send(raw)

    def close(self) -> None:
        # WebSocketApp.close() waits up to 3 s for the peer's close frame, which the reader thread
        # may swallow first; say goodbye and shut the socket down, which wakes the reader at once.
        with self._lock:
            self._closing.set()
            self.client.keep_running = False
            sock = self.client.sock
            if sock is not None:
                with contextlib.suppress(Exception):
                    sock.send_close()
                sock.abort()
        self.connected_event.clear()


class BusConnection:
    """One WebSocket connection to the OVOS messagebus, shared by every session of this process."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8181, route: str = "/core", *,
                 source: str = "ovos-realtime", reconnect_max_s: float = 2.0):
        self.host, self.port, self.route, self.source = host, port, route, source
        self._reconnect_max_s = reconnect_max_s
        self._client: _Client | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._up = False
        self._closed = False
        self.skills_availability = SkillsAvailability()
        """Whether the skills behind this bus can answer now: moved only by the standalone daemon's supervisor
        (``bus/supervisor.py``) while it restarts the skills service it runs."""
        self._up_event: asyncio.Event | None = None
        self._subs: dict[str, list[Subscription]] = {}
        self._type_subs: dict[str, list[TypeSubscription]] = {}
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ovos-bus-send")

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}{self.route}"

    @property
    def connected(self) -> bool:
        return self._up

    @property
    def skills_down(self) -> str | None:
        """Why the skills behind this bus cannot answer now (turns then fail at once); ``None`` while they can."""
        return self.skills_availability.down_reason

    @property
    def session_ids(self) -> frozenset[str]:
        """The sessions someone in this process follows right now."""
        return frozenset(self._subs)

    async def connect(self, timeout: float = 10.0) -> None:
        """Start the reader thread (once) and wait until the bus is reachable."""
        if self._client is None:
            self._loop = asyncio.get_running_loop()
            self._up_event = asyncio.Event()
            # MessageBusClient() reads mycroft.conf: keep that file I/O off the loop.
            self._client = await asyncio.to_thread(
                _Client, self.host, self.port, self.route, self, self._reconnect_max_s)
            self._thread = self._client.run_in_thread()
        await self.wait_connected(timeout)

    async def wait_connected(self, timeout: float) -> None:
        if self._up_event is None:
            raise BusUnavailableError("BusConnection.connect() was never called")
        try:
            await asyncio.wait_for(self._up_event.wait(), timeout)
        except asyncio.TimeoutError:
            raise BusUnavailableError(f"OVOS messagebus at {self.url} not reachable within {timeout:g} s") from None

    async def close(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.close)
            if self._thread is not None:
                await asyncio.to_thread(self._thread.join, 5.0)
        self._on_down("closed by ovos-realtime")
        self._sender.shutdown(wait=False)

    def subscribe(self, session_id: str, on_message: OnMessage, on_drop: OnDrop | None = None) -> Subscription:
        """Call ``on_message`` (on the loop) for every message of ``session_id``, ``on_drop`` on a drop."""
        sub = Subscription(self, session_id, on_message, on_drop)
        self._subs.setdefault(session_id, []).append(sub)
        return sub

    def subscribe_type(self, msg_type: str, on_message: OnMessage) -> TypeSubscription:
        """Call ``on_message`` (on the loop) for every message of type ``msg_type``, in any session or none."""
        sub = TypeSubscription(self, msg_type, on_message)
        self._type_subs.setdefault(msg_type, []).append(sub)
        return sub

    def emit(self, msg_type: str, data: dict[str, Any] | None = None, context: dict[str, Any] | None = None) -> None:
        """Queue a message for sending; raises :class:`BusUnavailableError` while not connected."""
        client = self._client
        if client is None or not self._up:
            raise BusUnavailableError(f"not connected to the OVOS messagebus at {self.url}")
        raw = Message(msg_type, data or {}, context or {}).serialize()
        self._sender.submit(self._send, client, msg_type, raw)

    def emit_quietly(self, msg_type: str, data: dict[str, Any] | None = None,
                     context: dict[str, Any] | None = None) -> None:
        """:meth:`emit` a message that may be lost: while the bus is down it only gets a log line (whatever
        depended on it fails on its own, or it is sent again once the bus is back)."""
        try:
            self.emit(msg_type, data, context)
        except BusUnavailableError as exc:
            logger.warning("could not emit %s: %s", msg_type, exc)

    def reply(self, request: BusMessage, data: dict[str, Any] | None = None) -> None:
        """Answer a request the way OVOS's ``Message.response()`` does (same context)."""
        self.emit(names.response_of(request.type), data, dict(request.context))

    async def request(self, msg_type: str, data: dict[str, Any] | None = None, *, reply_type: str | None = None,
                      timeout: float = 3.0) -> BusMessage | None:
        """Emit in a private session and wait for the reply (``<type>.response`` unless given); None on timeout."""
        reply_type = reply_type or names.response_of(msg_type)
        session_id = f"{self.source}-request-{uuid.uuid4().hex}"
        future: asyncio.Future[BusMessage] = asyncio.get_running_loop().create_future()

        def on_message(msg: BusMessage) -> None:
            if msg.type == reply_type and not future.done():
                future.set_result(msg)

        def on_drop(reason: str) -> None:
            if not future.done():
                future.set_exception(BusDisconnectedError(f"OVOS messagebus dropped ({reason})"))

        sub = self.subscribe(session_id, on_message, on_drop)
        try:
            self.emit(msg_type, data, {"source": self.source, "destination": ["skills"],
                                       "session": {"session_id": session_id}})
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            return None
        finally:
            sub.cancel()

    # --- on the loop ---------------------------------------------------------------------
    def _unsubscribe(self, sub: Subscription) -> None:
        _discard(self._subs, sub.session_id, sub)

    def _unsubscribe_type(self, sub: TypeSubscription) -> None:
        _discard(self._type_subs, sub.msg_type, sub)

    def _on_up(self) -> None:
        if self._client is None:
            return
        self._up = True
        if self._up_event is not None:
            self._up_event.set()
        logger.info("connected to the OVOS messagebus at %s", self.url)

    def _on_down(self, reason: str) -> None:
        if self._up_event is not None:
            self._up_event.clear()
        if not self._up:
            return
        self._up = False
        if self._closed:
            logger.info("OVOS messagebus connection %s", reason)
        else:
            logger.warning("OVOS messagebus connection lost (%s); reconnecting", reason)
        for subs in list(self._subs.values()):
            for sub in list(subs):
                if sub.on_drop is not None:
                    self._call(sub.on_drop, reason)

    def _on_raw(self, raw: str) -> None:
        try:
            message = Message.deserialize(raw)
        except Exception:
            logger.warning("unparseable messagebus frame (%d chars) ignored", len(raw))
            return
        msg = BusMessage(message.msg_type, message.data or {}, message.context or {})
        for type_sub in list(self._type_subs.get(msg.type, ())):
            self._call(type_sub.on_message, msg)
        sid = msg.session_id
        if sid is None:
            return
        for sub in list(self._subs.get(sid, ())):
            self._call(sub.on_message, msg)

    @staticmethod
    def _call(callback: Callable[[Any], None], arg: Any) -> None:
        try:
            callback(arg)
        except Exception:
            logger.exception("messagebus subscriber failed")

    # --- foreign threads -----------------------------------------------------------------
    def _from_thread(self, callback: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # loop closed between the check and the call
            pass

    @staticmethod
    def _send(client: _Client, msg_type: str, raw: str) -> None:
        try:
            client.send(raw)
        except Exception as exc:  # the reader notices the drop and tells the subscribers
            logger.warning("could not send %s to the OVOS messagebus: %s", msg_type, exc)


def _discard(table: dict[str, list[S]], key: str, sub: S) -> None:
    """Take ``sub`` out of ``table[key]``, and the key out once nobody is left."""
    subs = table.get(key, [])
    if sub in subs:
        subs.remove(sub)
    if not subs:
        table.pop(key, None)
