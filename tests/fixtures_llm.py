"""A real HTTP server speaking the Chat Completions API (streamed, SSE), scripted per test, and the
Realtime servers whose LLM responder talks to it, in front of the real OVOS stack (tests/fixtures_ovos.py).

Each test queues its replies in ``chat.script`` (one per completion request, in order): a list of chunks,
a function of the request body returning one, or a :class:`Hang` (send some chunks, then wait for the
client to close the connection). ``chat.requests`` records every request body.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from ovos_realtime_plugin.bus.assistant import OvosAssistantSettings
from ovos_realtime_plugin.llm.backend import ChatBackend
from ovos_realtime_plugin.llm.responders import Responders
from ovos_realtime_plugin.llm.settings import LlmSettings
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings
from tests.fixtures_intents import HOLD_S, ToolsRealtime
from tests.fixtures_server import API_KEY, Served

Chunk = dict[str, Any]
MODEL = "test-model"
TOOL_TIMEOUT_S = 1.0
"""How long the model's intent calls may take (the test skill's count_slowly holds 10 s)."""


@dataclass
class Hang:
    """Send ``chunks``, then keep the response open until the client closes the connection."""

    chunks: list[Chunk]


Reply = list[Chunk] | Callable[[dict[str, Any]], list[Chunk]] | Hang


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None,
          usage: tuple[int, int] | None = None) -> Chunk:
    body: Chunk = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": MODEL,
                   "choices": [] if delta is None and finish is None else
                   [{"index": 0, "delta": delta or {}, "finish_reason": finish}]}
    if usage is not None:
        body["usage"] = {"prompt_tokens": usage[0], "completion_tokens": usage[1],
                         "total_tokens": usage[0] + usage[1]}
    return body


def say(*pieces: str, finish: str | None = "stop", usage: tuple[int, int] | None = (12, 7)) -> list[Chunk]:
    """A streamed text answer, one chunk per piece, then its finish reason and usage."""
    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": piece}) for piece in pieces]
    if finish is not None:
        chunks.append(chunk(finish=finish))
    if usage is not None:
        chunks.append(chunk(usage=usage))
    return chunks


def call(name: str, arguments: str, call_id: str = "call_1", usage: tuple[int, int] | None = (20, 9),
         index: int = 0, finish: str | None = "tool_calls", repeat_name: bool = False) -> list[Chunk]:
    """One streamed tool call: the name first, the arguments in two pieces (``repeat_name``: each piece
    carries the whole name again, as llama-cpp-python's server sends it)."""
    half = len(arguments) // 2
    chunks = [chunk({"role": "assistant", "content": None, "tool_calls": [
        {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}]})]
    again = {"name": name} if repeat_name else {}
    chunks += [chunk({"tool_calls": [{"index": index, "function": {**again, "arguments": part}}]})
               for part in (arguments[:half], arguments[half:]) if part]
    if finish is not None:
        chunks.append(chunk(finish=finish))
    if usage is not None:
        chunks.append(chunk(usage=usage))
    return chunks


def tool_messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in request["messages"] if m["role"] == "tool"]


@dataclass
class ChatServer:
    script: deque[Reply] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    hung_up: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when a client closed a :class:`Hang` response's connection."""
    sent_at: list[float] = field(default_factory=list)
    """``time.perf_counter()`` after each chunk of the last reply was written (benchmarks/bench_llm.py)."""
    pace_s: float = 0.0
    """A pause before each chunk, as a model's token rate (the benchmark's; tests leave it 0)."""
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/v1"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def reset(self) -> None:
        self.script.clear()
        self.requests.clear()
        self.paths.clear()
        self.hung_up = asyncio.Event()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            method, path, _ = line.decode("latin-1").split(" ", 2)
            headers: dict[str, str] = {}
            while (header := await reader.readline()).strip():
                name, _, value = header.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = json.loads(await reader.readexactly(int(headers.get("content-length", "0"))) or b"{}")
            self.paths.append(f"{method} {path}")
            self.requests.append(body)
            if method != "POST" or path != "/v1/chat/completions" or not self.script:
                error = json.dumps({"error": {"message": f"unscripted request {method} {path}", "type": "test"}})
                writer.write(f"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(error)}\r\nConnection: close\r\n\r\n{error}".encode())
                await writer.drain()
                return
            reply = self.script.popleft()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                         b"Connection: close\r\n\r\n")
            chunks = reply.chunks if isinstance(reply, Hang) else reply(body) if callable(reply) else reply
            self.sent_at = []
            for item in chunks:
                if self.pace_s:
                    await asyncio.sleep(self.pace_s)
                writer.write(f"data: {json.dumps(item)}\n\n".encode())
                await writer.drain()
                self.sent_at.append(time.perf_counter())
            if isinstance(reply, Hang):
                while await reader.read(1024):
                    pass
                self.hung_up.set()
                return
            writer.write(b"data: [DONE]\n\n")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@dataclass
class LlmRealtime:
    chat: ChatServer
    ovos_first: Served
    llm_only: Served
    ovos_first_backend: ChatBackend


@pytest.fixture(scope="session")
async def llm_stack(tools_realtime: ToolsRealtime) -> AsyncIterator[LlmRealtime]:
    chat = ChatServer()
    await chat.start()
    ovos = OvosAssistantSettings(intent_output_wait_s=HOLD_S)
    servers: list[RealtimeServer] = []
    factories: list[Responders] = []
    backends: list[ChatBackend] = []
    for responder in ("ovos_first", "llm"):
        backend = ChatBackend(LlmSettings(base_url=chat.url, model=MODEL, responder=responder,  # type: ignore[arg-type]
                                          tool_timeout_s=TOOL_TIMEOUT_S))
        # one fallback skill id per server on the shared bus, as one per daemon on a device's bus
        settings = dataclasses.replace(ovos, fallback_skill_id=f"ovos-realtime-{responder}.fallback")
        factory = Responders(tools_realtime.bus, settings, tools_realtime.intents, backend)
        factories.append(factory)
        server = RealtimeServer(ServerSettings(port=0, api_keys=frozenset({API_KEY})), factory)
        await server.start()
        servers.append(server)
        backends.append(backend)
    yield LlmRealtime(chat, Served(servers[0]), Served(servers[1]), backends[0])
    for server in servers:
        await server.stop()
    for factory in factories:
        factory.close()
    for backend in backends:
        await backend.close()
    await chat.stop()


@pytest.fixture
async def llm(llm_stack: LlmRealtime) -> AsyncIterator[LlmRealtime]:
    """The LLM stack with an empty script; every reply a test scripted must have been asked for."""
    llm_stack.chat.reset()
    yield llm_stack
    assert not llm_stack.chat.script, f"{len(llm_stack.chat.script)} scripted replies never requested"
