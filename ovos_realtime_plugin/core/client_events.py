"""Client events in their canonical (GA) shape, validated strictly.

The beta dialect is translated into these shapes first (:mod:`ovos_realtime_plugin.protocol.beta`), so the
session core sees one model. The set of client event types is derived from :data:`CLIENT_EVENTS`, never kept by hand.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, Field

from ovos_realtime_plugin.core.config import Format, MaxTokens, Strict, Tool, ToolChoice, VoiceId


class InputContent(Strict):
    type: Literal["input_text", "input_audio", "input_image", "output_text", "output_audio"]
    text: str | None = None
    audio: str | None = None
    transcript: str | None = None
    image_url: str | None = None
    detail: Literal["auto", "low", "high"] | None = None


class ItemIn(Strict):
    """Any conversation item a client may send; per-type required fields are checked in :func:`check_item`."""

    type: Literal["message", "function_call", "function_call_output", "item_reference",
                  "mcp_call", "mcp_list_tools", "mcp_approval_request", "mcp_approval_response"]
    id: str | None = None
    object: Literal["realtime.item"] | None = None
    status: Literal["completed", "incomplete", "in_progress"] | None = None
    role: Literal["user", "assistant", "system"] | None = None
    content: list[InputContent] | None = None
    name: str | None = None
    call_id: str | None = None
    arguments: str | None = None
    output: str | None = None
    server_label: str | None = None
    tools: list[dict[str, Any]] | None = None
    error: dict[str, Any] | None = None
    approval_request_id: str | None = None
    approve: bool | None = None
    reason: str | None = None


_REQUIRED = {
    "message": ("role", "content"),
    "function_call": ("name", "arguments"),
    "function_call_output": ("call_id", "output"),
    "item_reference": ("id",),
    "mcp_call": ("id", "name", "arguments", "server_label"),
    "mcp_list_tools": ("server_label", "tools"),
    "mcp_approval_request": ("id", "name", "arguments", "server_label"),
    "mcp_approval_response": ("id", "approval_request_id", "approve"),
}
_ROLE_CONTENT = {
    "system": {"input_text"},
    "user": {"input_text", "input_audio", "input_image"},
    "assistant": {"output_text", "output_audio"},
}


def item_problems(item: ItemIn, prefix: str) -> tuple[str, str, str] | None:
    """(code, param, message) for the first rule the item breaks, or ``None``."""
    for name in _REQUIRED[item.type]:
        if getattr(item, name) is None:
            param = f"{prefix}.{name}"
            return "missing_required_parameter", param, f"Missing required parameter: '{param}'."
    if item.type == "message" and item.role is not None:
        allowed = _ROLE_CONTENT[item.role]
        for index, part in enumerate(item.content or []):
            if part.type not in allowed:
                param = f"{prefix}.content[{index}].type"
                supported = ", ".join(f"'{t}'" for t in sorted(allowed))
                return "invalid_value", param, f"Invalid value: '{part.type}'. Supported values are: {supported}."
    return None


class SessionUpdate(Strict):
    type: Literal["session.update"]
    event_id: str | None = None
    session: dict[str, Any]


class AudioAppend(Strict):
    type: Literal["input_audio_buffer.append"]
    event_id: str | None = None
    audio: str


class AudioCommit(Strict):
    type: Literal["input_audio_buffer.commit"]
    event_id: str | None = None


class AudioClear(Strict):
    type: Literal["input_audio_buffer.clear"]
    event_id: str | None = None


class ItemCreate(Strict):
    type: Literal["conversation.item.create"]
    event_id: str | None = None
    previous_item_id: str | None = None
    item: ItemIn


class ItemRetrieve(Strict):
    type: Literal["conversation.item.retrieve"]
    event_id: str | None = None
    item_id: str


class ItemDelete(Strict):
    type: Literal["conversation.item.delete"]
    event_id: str | None = None
    item_id: str


class ItemTruncate(Strict):
    type: Literal["conversation.item.truncate"]
    event_id: str | None = None
    item_id: str
    content_index: Annotated[int, Field(ge=0)]
    audio_end_ms: Annotated[int, Field(ge=0)]


class ResponseAudioOutput(Strict):
    format: Format | None = None
    voice: str | VoiceId | None = None


class ResponseAudio(Strict):
    output: ResponseAudioOutput | None = None


class ResponseParams(Strict):
    conversation: str | None = None
    input: list[ItemIn] | None = None
    instructions: str | None = None
    output_modalities: Annotated[list[Literal["text", "audio"]], Field(min_length=1)] | None = None
    audio: ResponseAudio | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    max_output_tokens: MaxTokens | None = None
    metadata: dict[str, str] | None = None
    prompt: dict[str, Any] | None = None
    reasoning: dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    temperature: Annotated[float, Field(ge=0.0, le=2.0)] | None = None


class ResponseCreate(Strict):
    type: Literal["response.create"]
    event_id: str | None = None
    response: ResponseParams | None = None


class ResponseCancel(Strict):
    type: Literal["response.cancel"]
    event_id: str | None = None
    response_id: str | None = None


class SessionClose(Strict):
    type: Literal["session.close"]
    event_id: str | None = None


class OutputAudioClear(Strict):
    """WebRTC's: stop the answer playing. A call's transport acts on it before the core sees it; on a WebSocket
    the client plays the audio itself, so it changes nothing (OpenAI ignores it there too)."""

    type: Literal["output_audio_buffer.clear"]
    event_id: str | None = None


ClientEvent = (SessionUpdate | AudioAppend | AudioCommit | AudioClear | ItemCreate | ItemRetrieve
               | ItemDelete | ItemTruncate | ResponseCreate | ResponseCancel | SessionClose | OutputAudioClear)

CLIENT_EVENTS: dict[str, type[BaseModel]] = {
    get_args(model.model_fields["type"].annotation)[0]: model
    for model in (SessionUpdate, AudioAppend, AudioCommit, AudioClear, ItemCreate, ItemRetrieve,
                  ItemDelete, ItemTruncate, ResponseCreate, ResponseCancel, SessionClose, OutputAudioClear)
}

# the GA wire also accepts this translation-style alias of append
ALIASES = {"session.input_audio_buffer.append": "input_audio_buffer.append"}

