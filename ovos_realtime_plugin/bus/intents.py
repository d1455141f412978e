"""The installed OVOS intents as tools: names, sample phrases, slots.

Where the catalogue learns from (ovos-core 2.1.1, measured here):

| source                                          | gives                                                   |
|-------------------------------------------------|---------------------------------------------------------|
| ``intent.service.padatious.manifest.get``       | ``{intents: ["<skill_id>:<file>.intent", …]}``: names    |
| ``intent.service.adapt.manifest.get``           | ``{intents: [{name, requires, optional, at_least_one}]}`` |
| ``intent.service.adapt.vocab.manifest.get``     | ``{vocab: [{entity_value, entity_type, lang}]}``        |
| ``padatious:register_intent`` (at skill load)   | ``{name, samples (expanded), lang}``                    |
| ``register_intent`` / ``register_vocab`` (load) | as the adapt manifests                                  |
| ``detach_intent`` / ``detach_skill``            | an intent, or a skill's intents, are gone               |
| ``mycroft.skills.loaded``                       | ``{id, path}``: where a skill lives                     |
| a skill's ``locale/<lang>/``                    | ``*.intent`` samples, ``<slot>.entity``, ``skill.json`` |

The manifests answer a catalogue that starts after the skills; the broadcasts keep it current
while it runs. Skill packages are found through the ``opm.skill`` / ``ovos.plugin.skill`` entry points
(skills installed in this Python) or the path ``mycroft.skills.loaded`` gives. A padatious intent of
a skill whose files are out of reach (another machine) is listed without samples.

A tool is named ``<skill_id>__<intent>`` in the function-name charset (``[A-Za-z0-9_-]``, at most 64);
its parameters are the intent's ``{slot}``s (adapt: optional keywords), all strings; its description
carries sample phrases as ``Examples: a; b; c``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ovos_realtime_plugin.bus import names
from ovos_realtime_plugin.bus.client import BusConnection, BusMessage, Subscription
from ovos_realtime_plugin.bus.skill_locale import SkillLocale, clean, installed_skill_dirs, pick_lang, read_skill_locale

logger = logging.getLogger(__name__)

MAX_NAME = 64
"""The longest function/tool name the Realtime API accepts."""
DESCRIPTION_SAMPLES = 6
_NOT_NAME = re.compile(r"[^A-Za-z0-9_-]+")
_SLOT = re.compile(r"\{\{?\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}?\}")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_DATA = frozenset({"utterance", "utterances", "lang", "intent_type", "target", "confidence", "__tags__",
                       "intent_service", "skill_id", "conf"})


class UnknownIntentError(LookupError):
    """No installed intent has that tool name."""


# --- pure helpers -------------------------------------------------------------------------------
def allowed_tool_names(mcp_tool: Mapping[str, Any]) -> set[str] | None:
    """The ``allowed_tools`` of an MCP tool declaration (a list, or ``{tool_names: [...]}``); None: all."""
    allowed = mcp_tool.get("allowed_tools")
    if isinstance(allowed, Mapping):
        allowed = allowed.get("tool_names")
    return {str(name) for name in allowed} if isinstance(allowed, list) else None


def tool_name(skill_id: str, intent: str) -> str:
    """``<skill_id>__<intent>`` in the function-name charset; over 64 characters, cut and hashed."""
    intent = intent.removesuffix(".intent")
    name = f"{_NOT_NAME.sub('_', skill_id)}__{_NOT_NAME.sub('_', intent)}"
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha1(f"{skill_id}:{intent}".encode()).hexdigest()[:8]
    return f"{name[:MAX_NAME - 9]}_{digest}"


def munged_prefix(skill_id: str) -> str:
    """The prefix adapt puts on a skill's vocabulary names on the bus (ovos-utils' ``to_alnum``)."""
    return "".join(c if c.isalnum() else "_" for c in skill_id)


def slots_of(samples: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(every ``{slot}`` in order of first appearance, the slots every sample has)."""
    order: dict[str, None] = {}
    common: set[str] | None = None
    for sample in samples:
        found = _SLOT.findall(sample)
        order.update(dict.fromkeys(found))
        common = set(found) if common is None else common & set(found)
    return tuple(order), tuple(s for s in order if common and s in common)


def ranked_samples(samples: Iterable[str], topic: str = "") -> list[str]:
    """Unique samples, those sharing most words with ``topic`` first, then whole phrases, then short ones."""
    unique = list(dict.fromkeys(clean(s) for s in samples if s.strip()))
    words = set(topic.lower().split())
    return sorted(unique, key=lambda s: (-len(words & set(s.lower().split())), len(s.split()) < 3, len(s)))


def pick_samples(samples: Sequence[str], slots: Sequence[str], count: int = DESCRIPTION_SAMPLES,
                 topic: str = "") -> list[str]:
    """A few telling samples: those sharing most words with ``topic`` (the intent's name), short whole
    phrases first, and one for each slot."""
    ranked = ranked_samples(samples, topic)
    chosen = ranked[: max(1, count // 2)]
    for slot in slots:
        if not any("{" + slot + "}" in s for s in chosen):
            chosen += [s for s in ranked if "{" + slot + "}" in s][:1]
    chosen += [s for s in ranked if s not in chosen][: max(0, count - len(chosen))]
    return chosen[:count]


def humanize(intent: str) -> str:
    """``what.time.is.it.intent`` → ``what time is it``; ``HelloWorldIntent`` → ``hello world``."""
    base = intent.removesuffix(".intent").removesuffix("Intent")
    return " ".join(_CAMEL.sub(" ", base).replace(".", " ").replace("_", " ").split()).lower()


@dataclass(frozen=True)
class IntentTool:
    """One OVOS intent as a tool."""

    name: str
    message_type: str
    """``<skill_id>:<intent>``: what the pipeline emits when the intent matches, and what runs it."""
    skill_id: str
    intent: str
    engine: str = "padatious"
    samples: tuple[str, ...] = ()
    slots: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    slot_examples: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    skill_name: str | None = None

    @classmethod
    def for_message(cls, message_type: str) -> IntentTool:
        """An intent the catalogue does not know, seen running on the bus."""
        skill_id, _, intent = message_type.partition(":")
        return cls(tool_name(skill_id, intent), message_type, skill_id, intent, engine="unknown")

    @property
    def description(self) -> str:
        text = f"{self.skill_name or self.skill_id}: {humanize(self.intent)} (OVOS intent {self.message_type})."
        examples = pick_samples(self.samples, self.slots, topic=humanize(self.intent))
        return f"{text} Examples: {'; '.join(examples)}" if examples else text

    def input_schema(self) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for slot in self.slots:
            prop: dict[str, Any] = {"type": "string"}
            examples = self.slot_examples.get(slot)
            if examples:
                prop["description"] = "e.g. " + "; ".join(examples[:5])
            properties[slot] = prop
        return {"type": "object", "properties": properties, "required": list(self.required),
                "additionalProperties": False}

    def mcp_tool(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema(),
                "annotations": None}

    def arguments_from(self, data: Mapping[str, Any]) -> dict[str, str]:
        """The slot values an intent message carries (adapt's keyword names unmunged)."""
        prefix = munged_prefix(self.skill_id)
        found: dict[str, str] = {}
        for key, value in data.items():
            slot = key[len(prefix):] if self.engine != "padatious" and key.startswith(prefix) else key
            wanted = slot in self.slots if self.engine != "unknown" else slot not in _NOT_DATA
            if wanted and value is not None and not isinstance(value, dict | list):
                found[slot] = str(value)
        return found

    def utterance_for(self, arguments: Mapping[str, Any]) -> str:
        """A sample phrase that uses exactly the given slots, filled in (what a user might have said)."""
        given = {k for k, v in arguments.items() if v is not None}
        for sample in ranked_samples(self.samples, humanize(self.intent)):
            if set(_SLOT.findall(sample)) == given:
                return _SLOT.sub(lambda m: str(arguments[m.group(1)]), sample)
        return " ".join([humanize(self.intent), *(str(arguments[k]) for k in sorted(given))])


# --- the catalogue --------------------------------------------------------------------------------
class IntentCatalogue:
    """What intents the OVOS skills on one messagebus have, kept current from the bus.

    Make it once per bus, ``await refresh()`` once the skills are up, ``close()`` at the end.
    """

    def __init__(self, bus: BusConnection, *, lang: str = "en-US", skill_dirs: Mapping[str, Path] | None = None,
                 request_timeout_s: float = 3.0):
        self._bus = bus
        self.lang = lang
        self._timeout = request_timeout_s
        self._padatious: dict[str, dict[str, tuple[str, ...]]] = {}  # message type → lang → samples
        self._adapt: dict[str, dict[str, Any]] = {}  # message type → manifest entry
        self._vocab: dict[str, dict[str, list[str]]] = {}  # munged vocab name (lower) → lang → values
        self._dirs: dict[str, Path] = dict(skill_dirs or {})
        self._locales: dict[str, SkillLocale | None] = {}
        self._tools: dict[str, IntentTool] | None = None
        self._by_type: dict[str, IntentTool] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._subscription: Subscription | None = bus.subscribe("default", self._on_broadcast)

    def close(self) -> None:
        if self._subscription is not None:
            self._subscription.cancel()
            self._subscription = None
        for task in self._tasks:
            task.cancel()

    # --- reading ------------------------------------------------------------------------------------
    def tools(self) -> list[IntentTool]:
        return list(self._built().values())

    def by_name(self, name: str) -> IntentTool | None:
        return self._built().get(name)

    def by_message_type(self, message_type: str) -> IntentTool | None:
        self._built()
        return self._by_type.get(message_type)

    def mcp_tools(self, allowed: Iterable[str] | None = None) -> list[dict[str, Any]]:
        wanted = None if allowed is None else set(allowed)
        return [t.mcp_tool() for t in self.tools() if wanted is None or t.name in wanted]

    # --- learning -----------------------------------------------------------------------------------
    async def refresh(self) -> None:
        """Ask the intent services what is registered, and read the skills' locale folders."""
        padatious, adapt, vocab = await asyncio.gather(
            self._bus.request(names.PADATIOUS_MANIFEST, reply_type=names.PADATIOUS_MANIFEST_REPLY,
                              timeout=self._timeout),
            self._bus.request(names.ADAPT_MANIFEST, reply_type=names.ADAPT_MANIFEST_REPLY, timeout=self._timeout),
            self._bus.request(names.ADAPT_VOCAB_MANIFEST, reply_type=names.ADAPT_VOCAB_MANIFEST_REPLY,
                              timeout=self._timeout))
        for reply, what in ((padatious, "padatious"), (adapt, "adapt"), (vocab, "adapt vocabulary")):
            if reply is None:
                logger.info("no %s manifest from the OVOS intent service (engine not loaded?)", what)
        for name in (padatious.data.get("intents") or []) if padatious else []:
            if isinstance(name, str) and ":" in name:
                self._padatious.setdefault(name, {})
        for entry in (adapt.data.get("intents") or []) if adapt else []:
            self._add_adapt(entry)
        for entry in (vocab.data.get("vocab") or []) if vocab else []:
            self._add_vocab(entry)
        found = await asyncio.to_thread(installed_skill_dirs)
        for skill_id, path in found.items():
            self._dirs.setdefault(skill_id, path)
        skills = {t.split(":", 1)[0] for t in [*self._padatious, *self._adapt]}
        await asyncio.gather(*(self._read_locale(s) for s in skills if s not in self._locales))
        self._changed()

    async def _read_locale(self, skill_id: str) -> None:
        path = self._dirs.get(skill_id)
        self._locales[skill_id] = await asyncio.to_thread(read_skill_locale, path, self.lang) if path else None
        self._changed()

    def _on_broadcast(self, msg: BusMessage) -> None:
        data = msg.data
        if msg.type == names.PADATIOUS_REGISTER_INTENT and isinstance(data.get("name"), str):
            samples = tuple(clean(s) for s in data.get("samples") or [] if isinstance(s, str))
            self._padatious.setdefault(data["name"], {})[str(data.get("lang") or self.lang)] = samples
        elif msg.type == names.ADAPT_REGISTER_INTENT:
            self._add_adapt(data)
        elif msg.type == names.ADAPT_REGISTER_VOCAB:
            self._add_vocab(data)
        elif msg.type == names.DETACH_INTENT:
            name = str(data.get("intent_name"))
            self._padatious.pop(name, None)
            self._adapt.pop(name, None)
        elif msg.type == names.DETACH_SKILL and isinstance(data.get("skill_id"), str):
            prefix = data["skill_id"] + ":"
            for table in (self._padatious, self._adapt):
                for name in [n for n in table if n.startswith(prefix)]:
                    del table[name]
        elif msg.type == names.SKILL_LOADED and isinstance(data.get("id"), str) and data.get("path"):
            self._dirs[data["id"]] = Path(str(data["path"]))
            task = asyncio.get_running_loop().create_task(self._read_locale(data["id"]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            return
        self._changed()

    def _add_adapt(self, entry: Any) -> None:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str) and ":" in entry["name"]:
            self._adapt[entry["name"]] = entry

    def _add_vocab(self, entry: Any) -> None:
        if not isinstance(entry, dict) or not isinstance(entry.get("entity_type"), str):
            return
        values = self._vocab.setdefault(entry["entity_type"].lower(), {}).setdefault(
            str(entry.get("lang") or self.lang), [])
        value = entry.get("entity_value")
        if isinstance(value, str) and value not in values:
            values.append(value)

    def _changed(self) -> None:
        self._tools = None

    # --- building -------------------------------------------------------------------------------------
    def _built(self) -> dict[str, IntentTool]:
        if self._tools is not None:
            return self._tools
        tools: dict[str, IntentTool] = {}
        for message_type in sorted({*self._padatious, *self._adapt}):
            tool = self._padatious_tool(message_type) if message_type in self._padatious \
                else self._adapt_tool(message_type)
            if tool.name in tools:  # two intents that sanitize alike: keep both, apart
                digest = hashlib.sha1(message_type.encode()).hexdigest()[:8]
                tool = replace(tool, name=f"{tool.name[:MAX_NAME - 9]}_{digest}")
            tools[tool.name] = tool
        self._tools = tools
        self._by_type = {t.message_type: t for t in tools.values()}
        return tools

    def _padatious_tool(self, message_type: str) -> IntentTool:
        skill_id, _, intent = message_type.partition(":")
        locale = self._locales.get(skill_id)
        samples = pick_lang(self._padatious[message_type], self.lang) or ()
        if not samples and locale is not None:
            samples = locale.intents.get(intent, ())
        slots, required = slots_of(samples)
        examples = {s: locale.entities[s] for s in slots if locale and locale.entities.get(s)}
        return IntentTool(tool_name(skill_id, intent), message_type, skill_id, intent, "padatious", tuple(samples),
                          slots, required, examples, locale.name if locale else None)

    def _adapt_tool(self, message_type: str) -> IntentTool:
        skill_id, _, intent = message_type.partition(":")
        entry = self._adapt[message_type]
        prefix = munged_prefix(skill_id)

        def vocab_names(key: str) -> list[str]:
            return [pair[0] for pair in entry.get(key) or [] if isinstance(pair, list | tuple) and pair]

        def values(vocab: str) -> list[str]:
            return list(pick_lang(self._vocab.get(vocab.lower(), {}), self.lang) or [])

        required = vocab_names("requires")
        firsts = [values(v)[:1] or [humanize(v.removeprefix(prefix))] for v in required[1:]]
        rest = " ".join(f[0] for f in firsts)
        samples = tuple(clean(f"{v} {rest}") for v in (values(required[0]) if required else []))
        optional = [v for v in [*vocab_names("optional"), *vocab_names("at_least_one")] if v.startswith(prefix)]
        slots = tuple(dict.fromkeys(v[len(prefix):] for v in optional))
        examples = {v[len(prefix):]: tuple(values(v)) for v in optional if values(v)}
        locale = self._locales.get(skill_id)
        return IntentTool(tool_name(skill_id, intent), message_type, skill_id, intent, "adapt", samples, slots, (),
                          examples, locale.name if locale else None)
