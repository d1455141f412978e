"""Server events, sessions, items and responses rendered in one wire dialect (GA or beta).

The core emits GA event names with core objects as values; :class:`Renderer` turns them into the
JSON objects one connection receives, renaming or dropping what the beta dialect lacks.
"""

from __future__ import annotations

from typing import Any

from ovos_realtime_plugin.core import b64
from ovos_realtime_plugin.core.config import SessionConfig, TranscriptionSessionConfig, voice_name
from ovos_realtime_plugin.core.events import SessionView, WithAudio
from ovos_realtime_plugin.core.formats import beta_name, from_ga
from ovos_realtime_plugin.core.ids import event_id
from ovos_realtime_plugin.core.items import Content, Item
from ovos_realtime_plugin.core.response_stream import ResponseStream

# GA name → beta name; None: the beta dialect has no such event.
BETA_NAMES: dict[str, str | None] = {
    "conversation.item.added": "conversation.item.created",
    "conversation.item.done": None,
    "response.output_text.delta": "response.text.delta",
    "response.output_text.done": "response.text.done",
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
    "input_audio_buffer.timeout_triggered": None,
    "conversation.item.input_audio_transcription.segment": None,
    "mcp_list_tools.in_progress": None,
    "mcp_list_tools.completed": None,
    "mcp_list_tools.failed": None,
    "response.mcp_call_arguments.delta": None,
    "response.mcp_call_arguments.done": None,
    "response.mcp_call.in_progress": None,
    "response.mcp_call.completed": None,
    "response.mcp_call.failed": None,
}
GA_LACKS = frozenset({"conversation.created"})  # beta-only events
_BETA_CONTENT = {"output_text": "text", "output_audio": "audio"}
_BETA_PARAMS = {"cannot_update_voice": "session.voice"}  # error code → its param in the beta dialect
BETA_TEMPERATURE = 0.8
_PLAIN = frozenset({str, int, float, bool, type(None), dict, list})  # values sent as they are
"""What a beta session shows for a temperature its client never set (OpenAI's default)."""


class Renderer:
    """Renders for one connection's dialect."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.beta = dialect == "beta"
        self.mcp_items = not self.beta  # the beta dialect has no MCP items

    def render(self, kind: str, fields: dict[str, Any]) -> list[dict[str, Any]]:
        """One core event (core objects as values) as this dialect's server events."""
        rendered = {key: value if type(value) in _PLAIN else self._value(value) for key, value in fields.items()}
        if self.beta and kind == "error" and rendered["error"].get("code") in _BETA_PARAMS:
            error = rendered["error"]
            rendered["error"] = {**error, "param": _BETA_PARAMS[error["code"]]}
        event = self.event(kind, rendered)
        return [] if event is None else [event]

    def _value(self, value: Any) -> Any:
        if isinstance(value, Item):
            return self.item(value)
        if isinstance(value, Content):
            return self.part(value)
        if isinstance(value, WithAudio):
            return self.item(value.item, with_audio=True)
        if isinstance(value, SessionView):
            return self.session(value.config, value.session_id, value.expires_at)
        if isinstance(value, ResponseStream):
            return self.response(value)
        return value

    def event(self, kind: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        """A complete server event with a fresh ``event_id``, or ``None`` when the dialect has no such event."""
        name: str | None = kind
        if not self.beta and kind in GA_LACKS:
            return None
        if self.beta:
            name = BETA_NAMES.get(kind, kind)
            if kind == "response.function_call_arguments.done":
                fields = {k: v for k, v in fields.items() if k != "name"}
            if kind in ("session.created", "session.updated") and fields["session"].get("object") == \
                    "realtime.transcription_session":
                name = kind.replace("session.", "transcription_session.")
        if name is None:
            return None
        return {"type": name, "event_id": event_id(), **fields}

    # -- sessions -----------------------------------------------------------------------------
    def session(self, config: SessionConfig, session_id: str, expires_at: int) -> dict[str, Any]:
        if self.beta:
            return self._beta_session(config, session_id, expires_at)
        body = config.model_dump(mode="json", exclude={"temperature"})
        audio_in = body["audio"]["input"]
        for key in ("transcription", "noise_reduction"):  # the fields set, as OpenAI echoes them
            if audio_in.get(key) is not None:
                audio_in[key] = _set_fields(audio_in[key])
        if "tools" in body:
            body["tools"] = [_set_fields(tool) for tool in body["tools"]]
        for key, default in _GA_UNSHOWN_DEFAULTS.items():  # fields OpenAI's sessions do not carry unless set
            if key in body and body[key] == default:
                del body[key]
        obj = "realtime.transcription_session" if config.type == "transcription" else "realtime.session"
        return {"object": obj, "id": session_id, "expires_at": expires_at, **body}

    def _beta_session(self, config: SessionConfig, session_id: str, expires_at: int) -> dict[str, Any]:
        audio_in = config.audio.input
        td = audio_in.turn_detection
        common: dict[str, Any] = {
            "id": session_id,
            "expires_at": expires_at,
            "input_audio_format": beta_name(from_ga(audio_in.format.model_dump())),
            "input_audio_transcription": audio_in.transcription.model_dump(exclude_none=True)
            if audio_in.transcription else None,
            "input_audio_noise_reduction": audio_in.noise_reduction.model_dump(exclude_none=True)
            if audio_in.noise_reduction else None,
            "turn_detection": td.model_dump() if td else None,
        }
        if isinstance(config, TranscriptionSessionConfig):
            return {"object": "realtime.transcription_session", "modalities": ["text"], "include": config.include,
                    "client_secret": {"value": "", "expires_at": expires_at}, **common}
        choice = config.tool_choice
        return {
            "object": "realtime.session",
            "model": config.model,
            "modalities": ["text", "audio"] if "audio" in config.output_modalities else ["text"],
            "instructions": config.instructions,
            "voice": voice_name(config.audio.output.voice),
            "speed": config.audio.output.speed,
            "output_audio_format": beta_name(from_ga(config.audio.output.format.model_dump())),
            "tools": [t.model_dump(exclude_none=True) for t in config.tools],
            "tool_choice": choice if isinstance(choice, str) else (choice.name or "auto"),
            "temperature": BETA_TEMPERATURE if config.temperature is None else config.temperature,
            "max_response_output_tokens": config.max_output_tokens,
            "tracing": config.tracing if isinstance(config.tracing, str | None) else config.tracing.model_dump(),
            **common,
        }

    # -- items ------------------------------------------------------------------------------
    def content(self, part: Content, with_audio: bool = False) -> dict[str, Any]:
        kind = _BETA_CONTENT.get(part.type, part.type) if self.beta else part.type
        out: dict[str, Any] = {"type": kind}
        if part.type in ("input_text", "output_text"):
            out["text"] = part.text or ""
        elif part.type in ("input_audio", "output_audio"):
            out["transcript"] = part.transcript
            if with_audio and part.audio is not None:
                out["audio"] = _base64_audio(part)
        elif part.type == "input_image":
            out.update(image_url=part.image_url, detail=part.detail or "auto")
        return out

    def item(self, item: Item, with_audio: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"id": item.id, "type": item.type}
        if item.type in ("message", "function_call", "function_call_output"):
            out.update(object="realtime.item", status=str(getattr(item.status, "value", item.status)))
        if item.type == "message":
            out.update(role=item.role, content=[self.content(c, with_audio) for c in item.content])
        elif item.type == "function_call":
            out.update(name=item.name, call_id=item.call_id, arguments=item.arguments or "")
        elif item.type == "function_call_output":
            out.update(call_id=item.call_id, output=item.output or "")
        elif item.type == "mcp_call":
            out.update(server_label=item.server_label, name=item.name, arguments=item.arguments or "",
                       output=item.output, error=item.error, approval_request_id=None)
        elif item.type == "mcp_list_tools":
            out.update(server_label=item.server_label, tools=item.tools or [])
        return out

    def part(self, part: Content) -> dict[str, Any]:
        """A content part as ``response.content_part.*`` carries it (``text`` / ``audio`` in both dialects)."""
        if part.type == "output_text":
            return {"type": "text", "text": part.text or ""}
        return {"type": "audio", "transcript": part.transcript or ""}

    # -- responses --------------------------------------------------------------------------
    def response(self, stream: ResponseStream) -> dict[str, Any]:
        spec = stream.spec
        body: dict[str, Any] = {
            "object": "realtime.response", "id": stream.id, "status": stream.status.value,
            "status_details": stream.status_details, "output": [self.item(i) for i in stream.output],
            "conversation_id": stream.conversation.id if spec.in_conversation else None,
            "max_output_tokens": spec.max_output_tokens or "inf", "usage": self._usage(stream.usage),
            "metadata": spec.metadata,
        }
        if self.beta:
            body.update(modalities=["text", "audio"] if spec.audio else ["text"], voice=spec.voice,
                        output_audio_format=beta_name(spec.format), temperature=spec.temperature)
        else:
            fmt: dict[str, Any] = {"type": spec.format.type}
            if spec.format.type == "audio/pcm":
                fmt["rate"] = spec.format.rate
            body.update(output_modalities=list(spec.modalities), audio={"output": {"format": fmt,
                                                                                  "voice": spec.voice}})
        return body

    def _usage(self, usage: dict[str, Any] | None) -> dict[str, Any] | None:
        """The beta dialect's usage lacks the image and cached-token details."""
        if usage is None or not self.beta:
            return usage
        details = {k: v for k, v in usage["input_token_details"].items()
                   if k not in ("image_tokens", "cached_tokens_details")}
        return {**usage, "input_token_details": details}


_GA_UNSHOWN_DEFAULTS: dict[str, Any] = {"reasoning": None, "parallel_tool_calls": True}


def _set_fields(value: dict[str, Any]) -> dict[str, Any]:
    """A config object without its unset (``None``) fields: what a client sent, not every field the API knows
    (clients built against OpenAI's server parse these objects strictly: pipecat's transcription model takes only
    ``model``, ``language`` and ``prompt``)."""
    return {k: v for k, v in value.items() if v is not None}


def _base64_audio(part: Content) -> str:
    """The part's audio in base64, encoded again only when the audio changed (it only grows or is cut)."""
    assert part.audio is not None
    cached = part.rendered_audio
    if cached is None or cached[0] != len(part.audio):
        cached = part.rendered_audio = (len(part.audio), b64.encode(part.audio))
    return cached[1]
