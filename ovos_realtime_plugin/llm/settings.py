"""The LLM responder's settings, read once from the ``"realtime"`` section of mycroft.conf::

    {"realtime": {
        "responder": "ovos_first",        // or "llm"; only with an "llm" section (default: ovos_first)
        "llm": {
            "base_url": "http://127.0.0.1:8080/v1",   // any Chat Completions server
            "model": "gemma-3-270m",
            "api_key": "",                // local servers want none
            "intent_tools": true,         // the model sees the OVOS intents as functions
            "max_tool_rounds": 4,         // OVOS intent calls answered within one response, then it must speak
            "tool_timeout_s": 10,         // an intent that takes longer: its output says so
            "request_timeout_s": 60,
            "max_retries": 0,             // a voice turn would rather fail fast
            "max_tokens_param": "max_tokens",   // or "max_completion_tokens" (OpenAI's newer models)
            "include_usage": true,        // stream_options.include_usage: token counts in response.done
            "temperature": null,          // used when the client gives none
            "extra_body": {}              // passed through to the server as is (e.g. {"top_k": 40})
        }}}

No ``llm`` section (or no ``base_url``/``model``): OVOS alone answers, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Responder = Literal["ovos_first", "llm"]
RESPONDERS: tuple[Responder, ...] = ("ovos_first", "llm")
TOKEN_PARAMS = ("max_tokens", "max_completion_tokens")


@dataclass(frozen=True)
class LlmSettings:
    base_url: str
    model: str
    api_key: str = ""
    responder: Responder = "ovos_first"
    intent_tools: bool = True
    max_tool_rounds: int = 4
    tool_timeout_s: float = 10.0
    request_timeout_s: float = 60.0
    max_retries: int = 0
    max_tokens_param: str = "max_tokens"
    include_usage: bool = True
    temperature: float | None = None
    extra_body: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.responder not in RESPONDERS:
            raise ValueError(f"responder must be one of {', '.join(RESPONDERS)}, not {self.responder!r}")
        if self.max_tokens_param not in TOKEN_PARAMS:
            raise ValueError(f"llm.max_tokens_param must be one of {', '.join(TOKEN_PARAMS)}")
        if self.max_tool_rounds < 0 or self.tool_timeout_s <= 0:
            raise ValueError("llm.max_tool_rounds must be >= 0 and llm.tool_timeout_s > 0")


def llm_settings(section: Mapping[str, Any]) -> LlmSettings | None:
    """The settings of the ``"realtime"`` section, or ``None`` when no LLM is configured.

    Raises ``ValueError`` on a setting that cannot work."""
    llm: Mapping[str, Any] = section.get("llm") or {}
    if not llm.get("base_url") or not llm.get("model"):
        if section.get("responder") == "llm":
            raise ValueError('"responder": "llm" needs an "llm" section with base_url and model')
        return None
    known = set(LlmSettings.__dataclass_fields__) - {"responder"}
    unknown = sorted(set(llm) - known)
    if unknown:
        raise ValueError(f"unknown llm setting(s): {', '.join(unknown)}")
    values: dict[str, Any] = {k: llm[k] for k in known if k in llm and llm[k] is not None}
    for key in ("max_tool_rounds", "max_retries"):
        if key in values:
            values[key] = int(values[key])
    for key in ("tool_timeout_s", "request_timeout_s", "temperature"):
        if key in values:
            values[key] = float(values[key])
    values["extra_body"] = dict(values.get("extra_body") or {})
    return LlmSettings(responder=section.get("responder") or "ovos_first", **values)
