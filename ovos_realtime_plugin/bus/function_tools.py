"""Client function tools triggered by their example phrases, matched with OVOS's template engine padacioso.

One :class:`FunctionExamples` per Realtime connection: the session's function tools with an
``Examples:`` part (:mod:`ovos_realtime_plugin.bus.examples`) become padacioso intents, rebuilt only when
the tools change. A user turn is tried against them before it goes to OVOS's pipeline; the best match
whose slots convert to the parameters' types wins.

padacioso's own ``calc_intents`` starts a process pool for every query (~2 s on 2 cores); the few
examples of a session are matched in-process instead, in microseconds.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ovos_number_parser import extract_number
from padacioso import IntentContainer

from ovos_realtime_plugin.bus.examples import NotConvertible, convert_arguments, parse_examples

logger = logging.getLogger(__name__)


class _InProcessContainer(IntentContainer):  # type: ignore[misc]
    def calc_intents(self, query: str) -> Iterator[dict[str, Any]]:
        """Every example that matches (padacioso gives one per intent), longest example of an intent first."""
        excluded = self._filter(query)
        for name, regexes in self.intent_samples.items():
            if name not in excluded:
                for regex in regexes:
                    found = self._match(query, name, [regex])
                    if found is not None:
                        yield found


@dataclass(frozen=True)
class FunctionMatch:
    name: str
    arguments: dict[str, Any]

    @property
    def arguments_json(self) -> str:
        return json.dumps(self.arguments, ensure_ascii=False)


def allowed_functions(tools: Sequence[Mapping[str, Any]], tool_choice: str | Mapping[str, Any]) -> list[str]:
    """The function tools ``tool_choice`` lets the server call: none for ``"none"`` or an MCP choice."""
    functions = [str(t["name"]) for t in tools if t.get("type") == "function" and t.get("name")]
    if tool_choice == "none":
        return []
    if isinstance(tool_choice, Mapping):
        if tool_choice.get("type") != "function":
            return []
        return [name for name in functions if name == tool_choice.get("name")]
    return functions


def _query(text: str) -> str:
    return " ".join(text.split()).strip().rstrip(".!?,;:").strip()


class FunctionExamples:
    """The example phrases of one session's function tools, ready to match."""

    def __init__(self) -> None:
        self._key: str | None = None
        self._container: _InProcessContainer | None = None
        self._parameters: dict[str, Mapping[str, Any] | None] = {}

    def match(self, text: str, tools: Sequence[Mapping[str, Any]], tool_choice: str | Mapping[str, Any],
              lang: str) -> FunctionMatch | None:
        """The function call ``text`` asks for, or ``None`` (then OVOS answers)."""
        allowed = allowed_functions(tools, tool_choice)
        query = _query(text)
        if not allowed or not query:
            return None
        container = self._build(tools)
        if container is None:
            return None
        found = sorted((m for m in container.calc_intents(query) if m.get("name") in allowed),
                       key=lambda m: -float(m.get("conf", 0.0)))
        for candidate in found:
            name = str(candidate["name"])
            slots = {str(k): str(v) for k, v in (candidate.get("entities") or {}).items()}
            try:
                arguments = convert_arguments(slots, self._parameters.get(name),
                                              lambda phrase: _parse_number(phrase, lang))
            except NotConvertible as exc:
                logger.debug("function %s matched %r but %s", name, query, exc)
                continue
            return FunctionMatch(name, arguments)
        return None

    def _build(self, tools: Sequence[Mapping[str, Any]]) -> _InProcessContainer | None:
        functions = [t for t in tools if t.get("type") == "function" and t.get("name")]
        key = json.dumps([[t.get("name"), t.get("description"), t.get("parameters")] for t in functions],
                         sort_keys=True, default=str)
        if key == self._key:
            return self._container
        container = _InProcessContainer()
        self._parameters = {}
        for tool in functions:
            examples = parse_examples(tool.get("description"))
            if not examples:
                continue
            name = str(tool["name"])
            try:
                container.add_intent(name, examples)
            except (RuntimeError, ValueError) as exc:
                logger.warning("function tool %s: its examples cannot be used (%s)", name, exc)
                continue
            parameters = tool.get("parameters")
            self._parameters[name] = parameters if isinstance(parameters, Mapping) else None
        self._key = key
        self._container = container if self._parameters else None
        return self._container


def _parse_number(phrase: str, lang: str) -> float | int | None:
    try:
        value = extract_number(phrase, lang=lang)
    except Exception:  # a number parser without this language
        return None
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None
