"""The beta dialect's client shapes, validated with beta parameter names, translated to the GA shapes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from ovos_realtime_plugin.core.config import MaxTokens, Strict
from ovos_realtime_plugin.protocol.validation import validate

BetaFormat = Literal["pcm16", "g711_ulaw", "g711_alaw"]
FORMATS = {"pcm16": {"type": "audio/pcm", "rate": 24000}, "g711_ulaw": {"type": "audio/pcmu"},
           "g711_alaw": {"type": "audio/pcma"}}


class BetaTranscription(Strict):
    model: str | None = None
    language: str | None = None
    prompt: str | None = None


class BetaNoiseReduction(Strict):
    type: Literal["near_field", "far_field"] | None = None


class BetaTurnDetection(Strict):
    type: Literal["server_vad", "semantic_vad"] | None = None
    threshold: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    prefix_padding_ms: Annotated[int, Field(ge=0)] | None = None
    silence_duration_ms: Annotated[int, Field(ge=0)] | None = None
    idle_timeout_ms: int | None = None
    create_response: bool | None = None
    interrupt_response: bool | None = None
    eagerness: Literal["low", "medium", "high", "auto"] | None = None


class BetaTool(Strict):
    type: Literal["function"] | None = None
    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None


class BetaTracing(Strict):
    workflow_name: str | None = None
    group_id: str | None = None
    metadata: dict[str, Any] | None = None


class BetaSession(Strict):
    model: str | None = None
    modalities: list[Literal["text", "audio"]] | None = None
    instructions: str | None = None
    voice: str | None = None
    speed: Annotated[float, Field(ge=0.25, le=1.5)] | None = None
    input_audio_format: BetaFormat | None = None
    output_audio_format: BetaFormat | None = None
    input_audio_transcription: BetaTranscription | None = None
    input_audio_noise_reduction: BetaNoiseReduction | None = None
    turn_detection: BetaTurnDetection | None = None
    tools: list[BetaTool] | None = None
    tool_choice: str | None = None
    temperature: Annotated[float, Field(ge=0.6, le=1.2)] | None = None
    max_response_output_tokens: MaxTokens | None = None
    tracing: Literal["auto"] | BetaTracing | None = None
    client_secret: dict[str, Any] | None = None
    include: list[str] | None = None


class BetaTranscriptionSession(Strict):
    modalities: list[Literal["text", "audio"]] | None = None
    input_audio_format: BetaFormat | None = None
    input_audio_transcription: BetaTranscription | None = None
    input_audio_noise_reduction: BetaNoiseReduction | None = None
    turn_detection: BetaTurnDetection | None = None
    include: list[str] | None = None
    client_secret: dict[str, Any] | None = None


_BETA_CONTENT = {"text": "output_text", "audio": "output_audio"}
_SERVER_VAD_KEYS = ("threshold", "prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms")


def _turn_detection(td: BetaTurnDetection | None) -> dict[str, Any] | None:
    if td is None:
        return None
    fields = td.model_dump(exclude_none=True)
    fields["type"] = td.type or "server_vad"
    if fields["type"] == "semantic_vad":
        return {k: v for k, v in fields.items() if k not in _SERVER_VAD_KEYS}
    fields.pop("eagerness", None)
    return fields


def _tool_choice(choice: str) -> str | dict[str, str]:
    return choice if choice in ("auto", "none", "required") else {"type": "function", "name": choice}


def _audio_input(session: BetaSession | BetaTranscriptionSession, given: set[str]) -> dict[str, Any]:
    audio_in: dict[str, Any] = {}
    if "input_audio_format" in given and session.input_audio_format:
        audio_in["format"] = FORMATS[session.input_audio_format]
    if "input_audio_transcription" in given:
        t = session.input_audio_transcription
        audio_in["transcription"] = t.model_dump(exclude_none=True) if t else None
    if "input_audio_noise_reduction" in given:
        n = session.input_audio_noise_reduction
        audio_in["noise_reduction"] = n.model_dump(exclude_none=True) if n else None
    if "turn_detection" in given:
        audio_in["turn_detection"] = _turn_detection(session.turn_detection)
    return audio_in


def session_update(raw: dict[str, Any]) -> dict[str, Any]:
    """A beta ``session`` object → a GA partial update (``type: realtime``)."""
    session = validate(BetaSession, raw, "session")
    given = set(raw)
    update: dict[str, Any] = {"type": "realtime"}
    if session.modalities is not None:
        update["output_modalities"] = ["audio"] if "audio" in session.modalities else ["text"]
    for key in ("model", "instructions", "temperature", "tracing"):
        if key in given:
            update[key] = raw[key]
    if session.max_response_output_tokens is not None:
        update["max_output_tokens"] = session.max_response_output_tokens
    if session.tools is not None:
        update["tools"] = [{"type": "function", **t.model_dump(exclude_none=True, exclude={"type"})}
                           for t in session.tools]
    if session.tool_choice is not None:
        update["tool_choice"] = _tool_choice(session.tool_choice)
    audio_out: dict[str, Any] = {}
    if session.output_audio_format:
        audio_out["format"] = FORMATS[session.output_audio_format]
    if session.voice is not None:
        audio_out["voice"] = session.voice
    if session.speed is not None:
        audio_out["speed"] = session.speed
    audio_in = _audio_input(session, given)
    if audio_in or audio_out:
        update["audio"] = {k: v for k, v in (("input", audio_in), ("output", audio_out)) if v}
    return update


def transcription_session_update(raw: dict[str, Any]) -> dict[str, Any]:
    """A beta ``transcription_session.update`` session → a GA ``transcription`` partial update."""
    session = validate(BetaTranscriptionSession, raw, "session")
    update: dict[str, Any] = {"type": "transcription"}
    audio_in = _audio_input(session, set(raw))
    if audio_in:
        update["audio"] = {"input": audio_in}
    if session.include is not None:
        update["include"] = session.include
    return update


def item(raw: dict[str, Any]) -> dict[str, Any]:
    """A beta flat item → the GA item shape (content types ``text``/``audio`` → ``output_*``)."""
    converted = dict(raw)
    if raw.get("role") == "assistant" and isinstance(raw.get("content"), list):
        converted["content"] = [
            {**part, "type": _BETA_CONTENT.get(str(part.get("type")), part.get("type"))}
            if isinstance(part, dict) else part
            for part in raw["content"]
        ]
    return converted


def response_params(raw: dict[str, Any]) -> dict[str, Any]:
    """Beta ``response.create.response`` → GA response overrides."""
    params = dict(raw)
    if "modalities" in params:
        modalities = params.pop("modalities")
        if isinstance(modalities, list):
            params["output_modalities"] = ["audio"] if "audio" in modalities else ["text"]
        else:
            params["output_modalities"] = modalities
    if "max_response_output_tokens" in params:
        params["max_output_tokens"] = params.pop("max_response_output_tokens")
    output: dict[str, Any] = {}
    if "voice" in params:
        output["voice"] = params.pop("voice")
    if "output_audio_format" in params:
        fmt = params.pop("output_audio_format")
        output["format"] = FORMATS.get(fmt, fmt) if isinstance(fmt, str) else fmt
    if output:
        params["audio"] = {"output": output}
    if isinstance(params.get("tool_choice"), str):
        params["tool_choice"] = _tool_choice(params["tool_choice"])
    if isinstance(params.get("input"), list):
        params["input"] = [item(i) if isinstance(i, dict) else i for i in params["input"]]
    return params
