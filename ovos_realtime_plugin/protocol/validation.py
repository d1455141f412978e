"""pydantic validation errors → the hosted service's error codes, params and messages."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from ovos_realtime_plugin.core.errors import ProtocolError, quote_list

M = TypeVar("M", bound=BaseModel)

# Names pydantic puts into an error location for a union branch rather than a field.
_UNION_TAGS = frozenset({"server_vad", "semantic_vad", "function", "mcp", "audio/pcm", "audio/pcmu", "audio/pcma",
                         "realtime", "transcription", "str", "input_text", "input_image", "input_file"})


def _is_field(part: str | int) -> bool:
    if isinstance(part, int):
        return True
    if part in _UNION_TAGS:
        return False
    return part.replace("_", "").isalnum() and part == part.lower()


def param_path(loc: tuple[str | int, ...], prefix: str = "") -> str:
    """``('session', 'tools', 0, 'name')`` → ``session.tools[0].name``."""
    text = prefix
    for part in loc:
        if not _is_field(part):
            continue
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text = f"{text}.{part}" if text else part
    return text


def type_name(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a decimal", str: "a string", list: "an array",
             dict: "an object", type(None): "null"}
    return names.get(type(value), "a value")


def error_from(details: ErrorDetails, prefix: str = "") -> ProtocolError:
    """One pydantic error as the protocol's error."""
    kind = details["type"]
    param = param_path(details["loc"], prefix)
    value: Any = details.get("input")
    ctx = details.get("ctx") or {}
    if kind == "extra_forbidden":
        return ProtocolError("unknown_parameter", f"Unknown parameter: '{param}'.", param)
    if kind == "missing":
        return ProtocolError("missing_required_parameter", f"Missing required parameter: '{param}'.", param)
    if kind in ("literal_error", "enum", "union_tag_invalid"):
        expected = str(ctx.get("expected", ""))
        supported = [v.strip().strip("'") for v in expected.replace(" or ", ",").split(",") if v.strip()]
        if kind == "union_tag_invalid":
            value = ctx.get("tag")
        return ProtocolError("invalid_value",
                             f"Invalid value: '{value}'. Supported values are: {quote_list(supported)}.", param)
    if kind in ("greater_than_equal", "greater_than", "too_short"):
        bound = ctx.get("ge", ctx.get("gt", ctx.get("min_length")))
        code = "integer_below_min_value" if isinstance(value, int) else "decimal_below_min_value"
        if kind == "too_short":
            code = "array_below_min_items"
        return ProtocolError(code, f"Invalid '{param}': below minimum value. Expected a value >= {bound}, "
                                   f"but got {value} instead.", param)
    if kind in ("less_than_equal", "less_than", "too_long"):
        bound = ctx.get("le", ctx.get("lt", ctx.get("max_length")))
        code = "integer_above_max_value" if isinstance(value, int) else "decimal_above_max_value"
        if kind == "too_long":
            code = "array_above_max_items"
        return ProtocolError(code, f"Invalid '{param}': above maximum value. Expected a value <= {bound}, "
                                   f"but got {value} instead.", param)
    if kind == "union_tag_not_found":
        tag_param = f"{param}.{ctx.get('discriminator', 'type').strip(chr(39))}"
        return ProtocolError("missing_required_parameter", f"Missing required parameter: '{tag_param}'.", tag_param)
    expected = kind.split("_")[0]
    return ProtocolError("invalid_type", f"Invalid type for '{param}': expected {expected}, "
                                         f"but got {type_name(value)} instead.", param)


def validate(model: type[M], data: object, prefix: str = "") -> M:
    """``model.model_validate(data)``, raising the first problem as a :class:`ProtocolError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # prefer the most specific report: unknown > missing > the rest
        order = {"extra_forbidden": 0, "missing": 1}
        errors.sort(key=lambda e: order.get(e["type"], 2))
        raise error_from(errors[0], prefix) from None
