"""Client-given items and response parameters, checked and turned into core objects."""

from __future__ import annotations

import binascii
from typing import Any, Protocol

from ovos_realtime_plugin.core import b64
from ovos_realtime_plugin.core import client_events as ce
from ovos_realtime_plugin.core.audio_buffer import InputAudioBuffer
from ovos_realtime_plugin.core.config import RealtimeSessionConfig, SessionConfig, output_format, voice_name
from ovos_realtime_plugin.core.conversation import Conversation
from ovos_realtime_plugin.core.errors import ProtocolError
from ovos_realtime_plugin.core.formats import from_ga
from ovos_realtime_plugin.core.ids import new_id
from ovos_realtime_plugin.core.items import Content, Item
from ovos_realtime_plugin.core.response_stream import ResponseSpec
from ovos_realtime_plugin.core.states import ItemStatus


class ItemsHost(Protocol):
    """What building items, truncating them and reading a response's parameters need of the session."""

    config: SessionConfig
    conversation: Conversation
    language: str | None

    @property
    def segments(self) -> dict[str, list[tuple[int, int]]]:
        """Audio item → (audio end, transcript end) per spoken sentence."""

    @property
    def buffer(self) -> InputAudioBuffer: ...

    def emit(self, kind: str, fields: dict[str, Any]) -> None: ...


def build_item(session: ItemsHost, given: ce.ItemIn, prefix: str = "item") -> Item:
    problem = ce.item_problems(given, prefix)
    if problem is not None:
        code, param, message = problem
        raise ProtocolError(code, message, param)
    if given.type == "item_reference":
        raise ProtocolError("invalid_value", "Item references are only allowed in 'response.input'.",
                            f"{prefix}.type")
    content = []
    for index, part in enumerate(given.content or []):
        audio = None
        if part.audio is not None:
            try:
                audio = bytearray(b64.decode(part.audio))
            except (binascii.Error, ValueError):
                raise ProtocolError("invalid_value", "Invalid 'audio'. Expected base64-encoded audio bytes.",
                                    f"{prefix}.content[{index}].audio") from None
        fmt = session.buffer.format if part.type == "input_audio" else output_format(session.config)
        content.append(Content(type=part.type, text=part.text, transcript=part.transcript, audio=audio,
                               audio_format=fmt if audio is not None else None, image_url=part.image_url,
                               detail=part.detail))
    item_type = given.type
    call_id = given.call_id or (new_id("call") if item_type == "function_call" else None)
    return Item(id=given.id or new_id("item"), type=item_type, status=ItemStatus.COMPLETED, role=given.role,
                content=content, name=given.name, call_id=call_id,
                arguments=given.arguments, output=given.output, server_label=given.server_label,
                tools=given.tools, error=given.error)


def truncate(session: ItemsHost, event: ce.ItemTruncate) -> None:
    """Cut an assistant audio item to what the user heard; the transcript keeps the words heard."""
    item = session.conversation.get(event.item_id)
    parts = item.content
    if item.type != "message" or item.role != "assistant" or event.content_index >= len(parts) \
            or parts[event.content_index].type != "output_audio":
        raise ProtocolError("unsupported_content_type", "Only model output audio messages can be truncated",
                            "item_id")
    part = parts[event.content_index]
    length = part.audio_ms
    if event.audio_end_ms > length:
        raise ProtocolError("invalid_value", f"Audio content of {length}ms is already shorter than "
                                             f"{event.audio_end_ms}ms", "audio_end_ms")
    assert part.audio is not None and part.audio_format is not None
    keep = part.audio_format.bytes_for_ms(event.audio_end_ms)
    part.transcript = heard_transcript(part.transcript or "", session.segments.get(item.id, []), keep,
                                       len(part.audio))
    del part.audio[keep:]
    item.changed()
    session.emit("conversation.item.truncated", {"item_id": item.id, "content_index": event.content_index,
                                                 "audio_end_ms": event.audio_end_ms})


def heard_transcript(transcript: str, segments: list[tuple[int, int]], kept_bytes: int, total_bytes: int) -> str:
    """The part of ``transcript`` spoken in the first ``kept_bytes`` of audio.

    ``segments`` maps the audio end of each spoken sentence to its transcript end; inside a sentence the
    words are assumed evenly spread over its audio.
    """
    start_audio = start_text = 0
    for audio_end, text_end in sorted(segments) or [(total_bytes, len(transcript))]:
        if kept_bytes <= audio_end:
            span = max(1, audio_end - start_audio)
            cut = start_text + (text_end - start_text) * (kept_bytes - start_audio) // span
            head = transcript[:cut]
            if cut < len(transcript) and not transcript[cut:cut + 1].isspace() and " " in head:
                head = head[:head.rindex(" ")]  # never end on half a word
            return head.rstrip()
        start_audio, start_text = audio_end, text_end
    return transcript


def response_spec(session: ItemsHost, params: ce.ResponseParams) -> ResponseSpec:
    config = session.config
    assert isinstance(config, RealtimeSessionConfig)
    out = params.audio.output if params.audio and params.audio.output else None
    fmt = from_ga(out.format.model_dump()) if out and out.format else output_format(config)
    voice = voice_name(out.voice) if out and out.voice else voice_name(config.audio.output.voice)
    modalities = tuple(params.output_modalities or config.output_modalities)
    tools = params.tools if params.tools is not None else config.tools
    max_tokens = params.max_output_tokens if params.max_output_tokens is not None else config.max_output_tokens
    tool_choice: Any = params.tool_choice if params.tool_choice is not None else config.tool_choice
    transcription = config.audio.input.transcription
    context = tuple(session.conversation.items) if params.input is None else tuple(
        _context_item(session, given, index) for index, given in enumerate(params.input))
    return ResponseSpec(
        modalities=("audio",) if "audio" in modalities else ("text",),
        instructions=params.instructions if params.instructions is not None else config.instructions,
        tools=tuple(t.model_dump(exclude_none=True) for t in tools),
        tool_choice=tool_choice if isinstance(tool_choice, str) else tool_choice.model_dump(exclude_none=True),
        max_output_tokens=None if max_tokens == "inf" else int(max_tokens),
        voice=voice, speed=config.audio.output.speed, format=fmt, metadata=params.metadata,
        temperature=params.temperature if params.temperature is not None else config.temperature,
        parallel_tool_calls=params.parallel_tool_calls if params.parallel_tool_calls is not None
        else config.parallel_tool_calls,
        language=(transcription.language if transcription else None) or session.language,
        context=context, in_conversation=params.conversation != "none")


def _context_item(session: ItemsHost, given: ce.ItemIn, index: int) -> Item:
    if given.type == "item_reference":
        return session.conversation.get(given.id or "", f"response.input[{index}].id")
    return build_item(session, given, f"response.input[{index}]")
