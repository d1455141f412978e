"""The session configuration: one GA-shaped model, validated strictly, merged deeply.

The GA wire shape is the canonical one; the beta dialect is translated into it at the edge
(:mod:`ovos_realtime_plugin.protocol.beta`). Every model forbids unknown keys, so a bad
``session.update`` is rejected (``unknown_parameter``) and discarded whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ovos_realtime_plugin import merge
from ovos_realtime_plugin.core.formats import AudioFormat, from_ga

DEFAULT_VOICE = "alloy"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PcmFormat(Strict):
    type: Literal["audio/pcm"] = "audio/pcm"
    rate: Annotated[int, Field(ge=24000, le=24000)] = 24000


class PcmuFormat(Strict):
    type: Literal["audio/pcmu"]


class PcmaFormat(Strict):
    type: Literal["audio/pcma"]


Format = Annotated[PcmFormat | PcmuFormat | PcmaFormat, Field(discriminator="type")]


class NoiseReduction(Strict):
    type: Literal["near_field", "far_field"] | None = None
    strength: float | None = None


class Transcription(Strict):
    model: str | None = None
    language: str | None = None
    prompt: str | None = None
    languages: list[str] | None = None
    keywords: list[str] | None = None
    delay: Literal["minimal", "low", "medium", "high", "xhigh"] | None = None


class ServerVad(Strict):
    type: Literal["server_vad"]
    threshold: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    prefix_padding_ms: Annotated[int, Field(ge=0)] = 300
    silence_duration_ms: Annotated[int, Field(ge=0)] = 200
    idle_timeout_ms: Annotated[int, Field(ge=5000, le=30000)] | None = None
    create_response: bool = True
    interrupt_response: bool = True


class SemanticVad(Strict):
    type: Literal["semantic_vad"]
    eagerness: Literal["low", "medium", "high", "auto"] = "auto"
    create_response: bool = True
    interrupt_response: bool = True


TurnDetection = Annotated[ServerVad | SemanticVad, Field(discriminator="type")]


class AudioInput(Strict):
    format: Format = Field(default_factory=PcmFormat)
    noise_reduction: NoiseReduction | None = None
    transcription: Transcription | None = None
    turn_detection: TurnDetection | None = Field(default_factory=lambda: ServerVad(type="server_vad"))


class VoiceId(Strict):
    id: str


class AudioOutput(Strict):
    format: Format = Field(default_factory=PcmFormat)
    voice: str | VoiceId = DEFAULT_VOICE
    speed: Annotated[float, Field(ge=0.25, le=1.5)] = 1.0


class AudioConfig(Strict):
    input: AudioInput = Field(default_factory=AudioInput)
    output: AudioOutput = Field(default_factory=AudioOutput)


class FunctionTool(Strict):
    type: Literal["function"] = "function"
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class McpTool(BaseModel):
    """An MCP tool declaration; lenient, since the hosted service accepts many connector fields."""

    model_config = ConfigDict(extra="allow")
    type: Literal["mcp"]
    server_label: str


Tool = Annotated[FunctionTool | McpTool, Field(discriminator="type")]


class ToolChoiceFunction(Strict):
    type: Literal["function"]
    name: str


class ToolChoiceMcp(Strict):
    type: Literal["mcp"]
    server_label: str
    name: str | None = None


ToolChoice = (
    Literal["none", "auto", "required"]
    | Annotated[ToolChoiceFunction | ToolChoiceMcp, Field(discriminator="type")]
)
MaxTokens = Annotated[int, Field(ge=1, le=4096)] | Literal["inf"]


class Tracing(Strict):
    workflow_name: str | None = None
    group_id: str | None = None
    metadata: dict[str, Any] | None = None


class TokenLimits(Strict):
    post_instructions: int | None = None


class RetentionRatio(Strict):
    type: Literal["retention_ratio"]
    retention_ratio: Annotated[float, Field(ge=0.0, le=1.0)]
    token_limits: TokenLimits | None = None


class PromptText(Strict):
    type: Literal["input_text"]
    text: str


class PromptImage(Strict):
    type: Literal["input_image"]
    detail: Literal["low", "high", "auto", "original"] = "auto"
    file_id: str | None = None
    image_url: str | None = None


class PromptFile(Strict):
    type: Literal["input_file"]
    detail: Literal["low", "high", "auto"] | None = None
    file_data: str | None = None
    file_id: str | None = None
    file_url: str | None = None
    filename: str | None = None


PromptVariable = str | Annotated[PromptText | PromptImage | PromptFile, Field(discriminator="type")]


class Prompt(Strict):
    id: str
    version: str | None = None
    variables: dict[str, PromptVariable] | None = None


class Reasoning(Strict):
    effort: Literal["minimal", "low", "medium", "high", "xhigh"] | None = None


Include = list[Literal["item.input_audio_transcription.logprobs"]]


Modality = Literal["text", "audio"]


def _audio_only() -> list[Modality]:
    return ["audio"]


class RealtimeSessionConfig(Strict):
    """A ``realtime`` (conversation) session, with the live service's defaults."""

    type: Literal["realtime"]
    model: str = "gpt-realtime"
    instructions: str = ""
    output_modalities: Annotated[list[Modality], Field(min_length=1, max_length=2)] = Field(
        default_factory=_audio_only)
    audio: AudioConfig = Field(default_factory=AudioConfig)
    tools: list[Tool] = Field(default_factory=list)
    tool_choice: ToolChoice = "auto"
    max_output_tokens: MaxTokens = "inf"
    tracing: Literal["auto"] | Tracing | None = None
    truncation: Literal["auto", "disabled"] | RetentionRatio = "auto"
    prompt: Prompt | None = None
    include: Include | None = None
    reasoning: Reasoning | None = None
    parallel_tool_calls: bool = True
    # beta-only knob, kept in the canonical model so both dialects share one config; None until a beta client
    # sets it (the beta session shows OpenAI's default, 0.8): the LLM then gets the deployment's own default
    temperature: Annotated[float, Field(ge=0.0, le=2.0)] | None = None


class TranscriptionAudio(Strict):
    input: AudioInput = Field(default_factory=AudioInput)


class TranscriptionSessionConfig(Strict):
    """A ``transcription`` session: audio in, transcripts out, no responses."""

    type: Literal["transcription"]
    audio: TranscriptionAudio = Field(default_factory=TranscriptionAudio)
    include: Include | None = None


SessionConfig = RealtimeSessionConfig | TranscriptionSessionConfig

# Keys whose value is replaced whole by an update instead of merged key by key.
_REPLACED = frozenset({"format", "voice", "tools", "tool_choice", "tracing", "truncation", "prompt", "include",
                       "output_modalities", "languages", "keywords", "metadata"})


def _replaced_whole(key: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    return key in _REPLACED or new.get("type", old.get("type")) != old.get("type")


def deep_merge(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``update`` laid over ``current``: nested objects merge, ``None`` clears, tagged objects of a new type replace."""
    return merge.deep_merge(current, update, _replaced_whole)


def input_format(config: SessionConfig) -> AudioFormat:
    return from_ga(config.audio.input.format.model_dump())


def output_format(config: SessionConfig) -> AudioFormat:
    if isinstance(config, TranscriptionSessionConfig):
        return from_ga({})
    return from_ga(config.audio.output.format.model_dump())


def voice_name(voice: str | VoiceId) -> str:
    return voice if isinstance(voice, str) else voice.id
