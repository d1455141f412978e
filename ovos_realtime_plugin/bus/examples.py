"""Client function tools without an LLM: example phrases in, typed arguments and spoken results out.

Pure functions (no OVOS, no I/O); the matching itself is :mod:`ovos_realtime_plugin.bus.function_tools`.

**The convention** (README, "Function tools with examples"): a function tool's ``description`` has an
``Examples:`` part. What follows it are example phrases, one a line or several separated by ``;``; list
markers (``-``, ``*``, ``•``, ``1.``) and quotes around a phrase are dropped. The part ends at a blank
line after the first example or at a section line such as ``Args:``. ``{param}`` is a slot named after a
parameter of the tool's JSON schema; ``(a|b)`` and ``[optional words]`` work as in OVOS ``.intent`` files.

**Slot text → JSON type**, by the parameter's schema: ``integer`` and ``number`` take digits or number words
(through the given parser), ``boolean`` takes yes/no words, ``enum`` values match case-insensitively,
``array`` splits on commas and "and"; ``string`` (or no type) is the text itself. A slot that does not
convert makes the phrase no match.

**Function output → speech**: plain text is spoken as it is; JSON is rendered short (see :func:`speakable`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

NumberParser = Callable[[str], float | int | None]

_MARK = re.compile(r"\bexamples?\s*:", re.IGNORECASE)
_SECTION = re.compile(r"^[A-Z][A-Za-z ]{0,30}:$")
_BULLET = re.compile(r"^(?:[-*•]|\d+[.)])\s+")
_QUOTES = "\"'`“”‘’"
_LIST_SPLIT = re.compile(r"\s*(?:,|;|\band\b|&)\s*", re.IGNORECASE)
_NUMBER = re.compile(r"^[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?$")
TRUE_WORDS = frozenset({"true", "yes", "yeah", "yep", "on", "enable", "enabled", "1", "sure", "ok", "okay"})
FALSE_WORDS = frozenset({"false", "no", "nope", "off", "disable", "disabled", "0"})
SPOKEN_KEYS = ("text", "message", "speech", "say", "answer", "result", "output", "response", "error", "status")
MAX_SPOKEN_FIELDS = 6


def parse_examples(description: str | None) -> list[str]:
    """The example phrases of a tool description, in order, without duplicates."""
    if not description:
        return []
    mark = _MARK.search(description)
    if mark is None:
        return []
    examples: list[str] = []
    for line in description[mark.end():].splitlines():
        line = line.strip()
        if not line:
            if examples:
                break
            continue
        if examples and _SECTION.match(line):
            break
        for phrase in line.split(";"):
            phrase = _BULLET.sub("", phrase.strip()).strip().strip(_QUOTES).strip()
            if phrase and phrase not in examples:
                examples.append(phrase)
    return examples


class NotConvertible(ValueError):
    """A slot's text does not fit its parameter's type."""


def _types(schema: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The alternatives a schema allows (``anyOf``/``oneOf``/type lists), ``null`` left out."""
    options = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(options, list):
        return [o for option in options if isinstance(option, Mapping) for o in _types(option)]
    kind = schema.get("type")
    if isinstance(kind, list):
        return [{**schema, "type": k} for k in kind if k != "null"]
    return [] if kind == "null" else [schema]


def _number(text: str, parse: NumberParser | None) -> float | int:
    cleaned = text.strip()
    if cleaned and _NUMBER.match(cleaned) and any(c.isdigit() for c in cleaned):
        value = float(cleaned.replace(",", ""))
        return int(value) if value.is_integer() and "." not in cleaned else value
    parsed = parse(text) if parse is not None else None
    if isinstance(parsed, bool) or not isinstance(parsed, int | float) or math.isnan(parsed):
        raise NotConvertible(f"not a number: {text!r}")
    return parsed


def convert(text: str, schema: Mapping[str, Any] | None, parse_number: NumberParser | None = None) -> Any:
    """A slot's text as the JSON value ``schema`` asks for; raises :class:`NotConvertible`."""
    text = text.strip().strip(_QUOTES + ".,!?").strip()
    options = _types(schema or {}) or [{}]
    for option in options:
        try:
            return _convert_one(text, option, parse_number)
        except NotConvertible:
            continue
    raise NotConvertible(f"{text!r} fits none of {[o.get('type') for o in options]}")


def _convert_one(text: str, schema: Mapping[str, Any], parse_number: NumberParser | None) -> Any:
    enum = schema.get("enum")
    if isinstance(enum, list):
        for value in enum:
            if str(value).lower() == text.lower():
                return value
        raise NotConvertible(f"{text!r} is not one of {enum}")
    kind = schema.get("type")
    if kind == "integer":
        value = _number(text, parse_number)
        if isinstance(value, float) and not value.is_integer():
            raise NotConvertible(f"not a whole number: {text!r}")
        return int(value)
    if kind == "number":
        return _number(text, parse_number)
    if kind == "boolean":
        word = text.lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise NotConvertible(f"not a yes or no: {text!r}")
    if kind == "array":
        items = schema.get("items") if isinstance(schema.get("items"), Mapping) else {}
        return [convert(part, items, parse_number) for part in _LIST_SPLIT.split(text) if part.strip()]
    if kind in (None, "string"):
        if not text:
            raise NotConvertible("empty")
        return text
    raise NotConvertible(f"a {kind} cannot come from a phrase")


def convert_arguments(slots: Mapping[str, str], parameters: Mapping[str, Any] | None,
                      parse_number: NumberParser | None = None) -> dict[str, Any]:
    """Slot texts → typed arguments; slot names match parameters case-insensitively, unknown ones are dropped."""
    properties = (parameters or {}).get("properties")
    if not isinstance(properties, Mapping) or not properties:
        return {name: convert(text, None) for name, text in slots.items()}
    by_lower = {str(name).lower(): str(name) for name in properties}
    arguments: dict[str, Any] = {}
    for slot, text in slots.items():
        name = by_lower.get(slot.lower())
        if name is not None:
            arguments[name] = convert(text, properties[name], parse_number)
    return arguments


@dataclass(frozen=True)
class Speech:
    """What to say for a function's output: ``text``, or a line of the ``dialog`` (``done`` / ``failed``)."""

    text: str | None = None
    dialog: str | None = None


def speakable(output: str) -> Speech:
    """A short spoken rendering of a ``function_call_output``.

    Plain text (not JSON) is said as it is. JSON: a string is said; a number is said; ``true``, ``null``,
    ``{}`` and ``[]`` say a "done" line, ``false`` a "failed" line; an object says its first string under
    ``text``, ``message``, ``speech``, ``say``, ``answer``, ``result``, ``output``, ``response``, ``error`` or
    ``status``, else up to six "key value" pairs; a list says its items, comma-separated.
    """
    text = output.strip()
    if not text:
        return Speech(dialog="done")
    try:
        value = json.loads(text)
    except ValueError:
        return Speech(text)
    if value is False:
        return Speech(dialog="failed")
    spoken = _render(value)
    return Speech(spoken) if spoken else Speech(dialog="done")


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None if value is None else ("yes" if value else "no")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _render(value: Any) -> str | None:
    if value is True or value is None:
        return None
    if isinstance(value, list):
        parts = [p for p in (_render(v) for v in value[:10]) if p]
        return _join(parts) if parts else None
    if isinstance(value, dict):
        for key in SPOKEN_KEYS:
            spoken = _scalar(value.get(key)) if not isinstance(value.get(key), bool) else None
            if spoken:
                return spoken
        pairs = [f"{str(k).replace('_', ' ')} {s}" for k, v in value.items() if (s := _scalar(v))]
        return ", ".join(pairs[:MAX_SPOKEN_FIELDS]) or None
    return _scalar(value)
