"""The assistant interface: what answers a Realtime response.

The core builds an :class:`AssistantRequest` when a response starts; the transport runs an
:class:`Assistant` on it and feeds each :data:`AssistantOutput` back into the session core.
Cancelling the iteration (task cancellation) is how a response is cancelled.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ovos_realtime_plugin.core.items import Item

if TYPE_CHECKING:
    from ovos_realtime_plugin.core.effects import Anticipate


@dataclass(frozen=True)
class AssistantRequest:
    """Everything an assistant needs to answer one response."""

    response_id: str
    items: tuple[Item, ...]
    instructions: str
    tools: tuple[dict[str, Any], ...]
    tool_choice: str | dict[str, Any]
    output_modalities: tuple[str, ...]
    max_output_tokens: int | None
    temperature: float | None
    parallel_tool_calls: bool
    metadata: dict[str, str] | None
    language: str | None
    voice: str
    session_id: str
    model: str = ""
    """The session's ``model`` (``?model=`` or ``session.update``): may pick who answers (llm/responders.py)."""


@dataclass(frozen=True)
class TextDelta:
    """A piece of the assistant's reply text.

    ``utterance_end``: the text so far is a whole utterance (an OVOS ``speak``), so it is spoken at once even
    without a final ``.``/``!``/``?`` rather than held until more text or the end of the response.
    """

    text: str
    utterance_end: bool = False


@dataclass(frozen=True)
class FunctionCallStart:
    """The assistant starts a call to a client function tool; arguments follow."""

    name: str
    call_id: str | None = None


@dataclass(frozen=True)
class FunctionCallArguments:
    """A piece of the JSON arguments of the function call started last."""

    delta: str


@dataclass(frozen=True)
class ServerToolCall:
    """A tool the server ran itself (an OVOS intent), shown as an ``mcp_call`` item."""

    server_label: str
    name: str
    arguments: str
    output: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Usage:
    """Token counts from the backend, when it reports them."""

    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class Incomplete:
    """The assistant stopped early; ``reason`` is ``max_output_tokens`` or ``content_filter``."""

    reason: str


AssistantOutput = TextDelta | FunctionCallStart | FunctionCallArguments | ServerToolCall | Usage | Incomplete


class Assistant(Protocol):
    """Streams the reply to one response. Raise to fail the response (``server_error``).

    Besides ``respond`` it has two capabilities, which an assistant with nothing to do for them takes as no-ops from
    :class:`AssistantBase`: ``anticipate`` (prepare the answer to a paused turn before it ends, its first words
    spoken early through ``speak_early``) and ``close`` (let go of what it holds for its session)."""

    def respond(self, request: AssistantRequest) -> AsyncIterator[AssistantOutput]: ...

    def anticipate(self, words: Anticipate, session_id: str, speak_early: Callable[[str], None] | None) -> None: ...

    def close(self) -> Awaitable[None] | None: ...


class AssistantBase:
    """:class:`Assistant`'s optional capabilities as no-ops, for assistants that only answer."""

    def anticipate(self, words: Anticipate, session_id: str, speak_early: Callable[[str], None] | None) -> None:
        """Nothing to prepare: the response answers when it runs."""

    def close(self) -> Awaitable[None] | None:
        """Nothing held."""
        return None


async def answer_of(assistant: Assistant, request: AssistantRequest) -> AsyncGenerator[AssistantOutput, None]:
    """``assistant``'s answer to ``request``, its iterator closed when we stop reading (so an LLM's HTTP
    stream or a skill's turn ends at once, not when the garbage collector gets to it)."""
    answer = assistant.respond(request)
    try:
        async for output in answer:
            yield output
    finally:
        close = getattr(answer, "aclose", None)
        if close is not None:
            await close()


class ToolLister(Protocol):
    """Lists the tools behind a server-side (``mcp``) tool declaration, for its ``mcp_list_tools`` item.

    ``tool`` is the declaration as the client sent it (``server_label``, ``allowed_tools`` ...). Returns
    MCP tool objects (``name``, ``description``, ``input_schema``, ``annotations``), or ``None`` when this
    server cannot reach that tool server (the listing fails). Called synchronously: answer from what is known.
    """

    def list_tools(self, tool: dict[str, Any]) -> list[dict[str, Any]] | None: ...
