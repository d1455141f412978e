"""A call's :class:`~ovos_realtime_plugin.server.transport.Transport`: frames from the ``oai-events`` data
channel (and any sideband WebSocket joined with ``?call_id=``) into one session; its events out to all of
them, except the answers' audio, which goes to the audio track (as OpenAI does on WebRTC)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from ovos_realtime_plugin.server.outbox import Frame, encode
from ovos_realtime_plugin.server.webrtc.playback import Playback

Sink = Callable[[str], None]
AUDIO_DELTAS = ("response.output_audio.delta", "response.audio.delta")


class CallTransport:
    def __init__(self) -> None:
        self.playback = Playback(self._send_event)
        self._inbox: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self._sinks: list[Sink] = []
        self._waiting: list[str] = []  # events before the data channel opened
        self.closed = False
        self.decode: Callable[[bytes], bytes] = bytes
        """Answer audio as the session encodes it → PCM16 24 kHz mono (set by the call)."""

    # -- in --------------------------------------------------------------------------------------
    def push(self, frame: str | bytes) -> None:
        """A frame from the data channel or a sideband socket; ``output_audio_buffer.clear`` is ours."""
        if not self.closed and not self._is_clear(frame):
            self._inbox.put_nowait(frame)

    def push_audio(self, pcm16: bytes) -> None:
        self.push(json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm16).decode()}))

    async def frames(self) -> AsyncIterator[str | bytes]:
        while (frame := await self._inbox.get()) is not None:
            yield frame

    def _is_clear(self, frame: str | bytes) -> bool:
        if b'"output_audio_buffer.clear"' not in (frame.encode() if isinstance(frame, str) else frame):
            return False
        try:
            event = json.loads(frame)
        except ValueError:
            return False
        if not isinstance(event, dict) or event.get("type") != "output_audio_buffer.clear":
            return False
        self.cut()
        return True

    def cut(self) -> None:
        """Stop the answer being played at once and truncate its item to what was heard."""
        cut = self.playback.clear()
        if cut is not None and cut.item_id:
            self._inbox.put_nowait(json.dumps({"type": "conversation.item.truncate", "item_id": cut.item_id,
                                               "content_index": 0, "audio_end_ms": cut.played_ms}))

    # -- out -------------------------------------------------------------------------------------
    def attach(self, sink: Sink) -> None:
        self._sinks.append(sink)
        waiting, self._waiting = self._waiting, []
        for text in waiting:
            sink(text)

    def detach(self, sink: Sink) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    async def send(self, frames: Sequence[Frame]) -> bool:
        for event, frame in frames:
            self._send_one(event, frame)
        return not self.closed

    def _send_one(self, event: dict[str, Any], frame: str) -> None:
        kind = event.get("type")
        if kind in AUDIO_DELTAS:
            self.playback.add(event["response_id"], event["item_id"], self.decode(base64.b64decode(event["delta"])))
            return
        self._send_now(frame)
        if kind == "response.done":
            self.playback.finish(event["response"]["id"])
        elif kind == "input_audio_buffer.speech_started" and self.playback.playing:
            self.cut()  # barge-in

    def _send_event(self, event: dict[str, Any]) -> None:
        self._send_now(encode(event))

    def _send_now(self, text: str) -> None:
        if not self._sinks:
            self._waiting.append(text)
        for sink in list(self._sinks):
            try:
                sink(text)
            except Exception:  # a sink that has gone (a closing data channel or socket)
                self.detach(sink)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if not self.closed:
            self.closed = True
            self._inbox.put_nowait(None)
