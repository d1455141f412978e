"""The chat backend: any server speaking the Chat Completions API, through the official ``openai`` client.

The only module of the LLM responder that does network I/O. A stream is an async context manager:
leaving it early (a cancelled response, barge-in) closes the HTTP response, so the server sees its
connection end at once and stops generating.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import openai
from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletionChunk

from ovos_realtime_plugin.llm.settings import LlmSettings

logger = logging.getLogger(__name__)


class LlmBackendError(Exception):
    """The chat server failed or could not be reached (the response fails with ``server_error``)."""


class ChatBackend:
    """One client (one connection pool) shared by every Realtime connection."""

    def __init__(self, settings: LlmSettings):
        self.settings = settings
        self._client = AsyncOpenAI(base_url=settings.base_url, api_key=settings.api_key or "none",
                                   timeout=settings.request_timeout_s, max_retries=settings.max_retries)

    async def close(self) -> None:
        await self._client.close()

    @asynccontextmanager
    async def stream(self, messages: list[dict[str, Any]], *, tools: list[dict[str, Any]] | None = None,
                     tool_choice: str | dict[str, Any] | None = None, max_tokens: int | None = None,
                     temperature: float | None = None,
                     parallel_tool_calls: bool | None = None) -> AsyncIterator[AsyncIterator[ChatCompletionChunk]]:
        """The completion's chunks; the HTTP response is closed when the block is left."""
        s = self.settings
        params: dict[str, Any] = {}
        if tools:
            params["tools"] = tools
            if tool_choice is not None:
                params["tool_choice"] = tool_choice
            if parallel_tool_calls is not None:
                params["parallel_tool_calls"] = parallel_tool_calls
        if max_tokens is not None:
            params[s.max_tokens_param] = max_tokens
        if temperature is not None or s.temperature is not None:
            params["temperature"] = temperature if temperature is not None else s.temperature
        if s.include_usage:
            params["stream_options"] = {"include_usage": True}
        if s.extra_body:
            params["extra_body"] = dict(s.extra_body)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("chat request to %s: %d messages, %d tools, %s", s.base_url, len(messages),
                         len(tools or ()), {k: v for k, v in params.items() if k != "tools"})
        try:
            created = await self._client.chat.completions.create(model=s.model, messages=cast(Any, messages),
                                                                 stream=True, **params)
            chunks = cast(AsyncStream[ChatCompletionChunk], created)
        except openai.APIError as exc:
            raise LlmBackendError(f"the LLM at {s.base_url} failed: {exc}") from exc
        async with chunks:  # closes the HTTP response, also when cancelled
            yield _chunks(chunks, s.base_url)


async def _chunks(stream: AsyncIterator[ChatCompletionChunk], url: str) -> AsyncIterator[ChatCompletionChunk]:
    try:
        async for chunk in stream:
            yield chunk
    except openai.APIError as exc:
        raise LlmBackendError(f"the LLM at {url} failed mid-stream: {exc}") from exc
