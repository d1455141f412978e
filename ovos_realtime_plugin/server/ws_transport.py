"""A Realtime WebSocket served by aiohttp, as a :class:`~.transport.Transport`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import WSMsgType, web


class WebSocketTransport:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws

    async def frames(self) -> AsyncIterator[str | bytes]:
        async for message in self.ws:
            if message.type == WSMsgType.TEXT:
                yield message.data
            elif message.type == WSMsgType.BINARY:
                yield message.data
            else:  # an error or a close: the socket is done
                return

    async def send(self, event: dict[str, Any], frame: str) -> bool:
        if self.ws.closed:
            return False
        try:
            await self.ws.send_str(frame)
        except ConnectionError:
            return False
        return True

    async def close(self, code: int, reason: str) -> None:
        await self.ws.close(code=code, message=reason.encode()[:120])
