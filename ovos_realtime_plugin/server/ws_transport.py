"""A Realtime WebSocket served by aiohttp, as a :class:`~.transport.Transport`.

Events that are ready together leave in one write to the socket: a response's burst of small events
(a dozen per text turn) costs one system call, not one each. While the client reads slower than we
write (the socket's buffer past its high-water mark), frames go one by one through aiohttp's own writer,
which waits for the buffer to drain; so the socket holds at most one batch beyond that mark and a slow
reader is left to the outbox's budget (:mod:`.outbox`).
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator, Sequence

from aiohttp import WSMsgType, web

from ovos_realtime_plugin.server.outbox import Frame

_TEXT = 0x81  # FIN + text opcode (RFC 6455 §5.2); a server's frames are not masked


def text_frame(payload: bytes) -> bytes:
    """One unmasked WebSocket text frame: its header and ``payload``."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", _TEXT, size)
    elif size < 65536:
        header = struct.pack("!BBH", _TEXT, 126, size)
    else:
        header = struct.pack("!BBQ", _TEXT, 127, size)
    return header + payload


class WebSocketTransport:
    def __init__(self, ws: web.WebSocketResponse, request: web.BaseRequest) -> None:
        self.ws = ws
        self._protocol = request.protocol
        self._socket = request.transport

    async def frames(self) -> AsyncIterator[str | bytes]:
        async for message in self.ws:
            if message.type == WSMsgType.TEXT:
                yield message.data
            elif message.type == WSMsgType.BINARY:
                yield message.data
            else:  # an error or a close: the socket is done
                return

    async def send(self, frames: Sequence[Frame]) -> bool:
        if self.ws.closed:
            return False
        socket = self._socket
        try:
            if len(frames) > 1 and socket is not None and not self._protocol.writing_paused:
                if socket.is_closing():
                    return False
                socket.write(b"".join(text_frame(text.encode()) for _, text in frames))
            else:
                for _, text in frames:
                    await self.ws.send_str(text)
        except ConnectionError:
            return False
        return True

    async def close(self, code: int, reason: str) -> None:
        await self.ws.close(code=code, message=reason.encode()[:120])
