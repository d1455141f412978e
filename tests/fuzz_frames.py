"""Client frames for the fuzz test: a seed of every client event, and hypothesis strategies that mutate them.

Mutations reach every place a hostile client can: a value replaced by any JSON (including a ``type`` that is
a list or an object), a key dropped or added, a value nested far deeper than the limits (built as text, since
``json.dumps`` itself cannot nest that deep), frames cut in half, binary frames and JSON that is no object.
"""

from __future__ import annotations

import base64
import copy
import json
import random
from typing import Any

AUDIO = base64.b64encode(b"\x01\x00" * 2400).decode()  # 100 ms of PCM16 at 24 kHz
NEST = "\u0000nest\u0000"
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
SEEDS: list[dict[str, Any]] = [
    {"type": "session.update", "event_id": "evt_s1", "session": {
        "type": "realtime", "instructions": "be brief", "output_modalities": ["text"],
        "tools": [{"type": "function", "name": "get_weather", "description": "weather", "parameters": SCHEMA}],
        "tool_choice": "auto", "tracing": {"workflow_name": "w", "metadata": {"a": "b"}},
        "prompt": {"id": "pmpt_1", "variables": {"x": "y"}}, "truncation": {"type": "retention_ratio",
                                                                            "retention_ratio": 0.5},
        "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}, "turn_detection": None,
                            "transcription": {"model": "whisper-1"}},
                  "output": {"voice": "alloy", "speed": 1.0}}}},
    {"type": "input_audio_buffer.append", "event_id": "evt_a1", "audio": AUDIO},
    {"type": "input_audio_buffer.commit", "event_id": "evt_c1"},
    {"type": "input_audio_buffer.clear"},
    {"type": "conversation.item.create", "event_id": "evt_i1", "previous_item_id": None, "item": {
        "id": "item_fuzz1", "type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "weather in Paris"}]}},
    {"type": "conversation.item.create", "item": {"type": "message", "role": "user",
                                                  "content": [{"type": "input_audio", "audio": AUDIO}]}},
    {"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "call_1",
                                                  "output": "{\"t\": 20}"}},
    {"type": "conversation.item.retrieve", "event_id": "evt_r1", "item_id": "item_fuzz1"},
    {"type": "conversation.item.delete", "item_id": "item_fuzz1"},
    {"type": "conversation.item.truncate", "item_id": "item_fuzz1", "content_index": 0, "audio_end_ms": 10},
    {"type": "response.create", "event_id": "evt_rc", "response": {
        "instructions": "answer", "output_modalities": ["text"], "metadata": {"k": "v"}, "tool_choice": "auto",
        "tools": [{"type": "function", "name": "f", "parameters": SCHEMA}], "conversation": "none",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}]}},
    {"type": "response.create"},
    {"type": "response.cancel", "event_id": "evt_x"},
    {"type": "session.input_audio_buffer.append", "audio": AUDIO},
]

ODD_STRINGS = ["session.update", "response.create", "session.close", "item_fuzz1", "realtime", "audio/pcm",
               AUDIO[:8], "", "\u0000", "\udc80x", "9" * 40, "a" * 5000]


def json_value(rng: random.Random, budget: int = 8) -> Any:
    """Any JSON value, at most ``budget`` leaves."""
    kind = rng.randrange(9 if budget > 1 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice([0, -1, 1, 2**31, -(2**63), 10**30, rng.randrange(-1000, 1000)])
    if kind == 3:
        return rng.choice([0.5, -0.0, 1e308, -1e-308, rng.uniform(-5, 5)])
    if kind in (4, 5):
        return rng.choice(ODD_STRINGS) if kind == 4 else "".join(chr(rng.randrange(1, 0x2FFF)) for _ in
                                                                  range(rng.randrange(12)))
    size = rng.randrange(1, 4)
    if kind in (6, 7):
        return [json_value(rng, budget // size) for _ in range(size)]
    return {rng.choice(["type", "x", "", "id", "text"]) + str(i):
            json_value(rng, budget // size) for i in range(size)}


def nested_text(rng: random.Random) -> str:
    depth = rng.choice([rng.randrange(1, 40), rng.randrange(40, 1500)])
    return "[" * depth + "]" * depth if rng.random() < 0.5 else '{"a":' * depth + "1" + "}" * depth


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path inside ``value``."""
    found: list[tuple[Any, ...]] = []
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in children:
        found.append(prefix + (key,))
        found.extend(paths(child, prefix + (key,)))
    return found


def _mutate(frame: dict[str, Any], rng: random.Random) -> str | None:
    """Apply one mutation in place; returns the nesting text to splice in when it nests."""
    kind = rng.choice(["set", "set", "drop", "add", "nest", "type"])
    if kind == "type":
        frame["type"] = json_value(rng)
        return None
    where = paths(frame)
    if not where:
        return None
    path = rng.choice(where)
    parent = frame
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if kind == "drop":
        del parent[last]
    elif kind == "add" and isinstance(parent, dict):
        parent[f"x{rng.randrange(99)}"] = json_value(rng)
    elif kind == "nest":
        parent[last] = NEST
        return nested_text(rng)
    else:
        parent[last] = json_value(rng)
    return None


def frame(rng: random.Random) -> str | bytes:
    """One mutated client frame as sent on the wire."""
    shape = rng.choice(["mutated"] * 12 + ["cut", "binary", "not_object", "deep"])
    seed = copy.deepcopy(rng.choice(SEEDS))
    if shape == "binary":
        return json.dumps(seed).encode()
    if shape == "not_object":
        return json.dumps(json_value(rng))
    if shape == "deep":
        return '{"type":"session.update","session":' + "[" * 10_000 + "]" * 10_000 + "}"
    nesting = [_mutate(seed, rng) for _ in range(rng.randrange(1, 4))]
    if seed.get("type") == "session.close":
        seed["type"] = "session.closed"  # a real close ends the connection on purpose
    text = json.dumps(seed)
    for nested in nesting:
        if nested is not None:
            text = text.replace(json.dumps(NEST), nested, 1)
    return text[:rng.randrange(len(text))] if shape == "cut" else text
