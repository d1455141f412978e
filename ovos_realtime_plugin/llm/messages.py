"""The Realtime conversation as a Chat Completions request: messages, tools and tool_choice.

| Realtime item                                 | chat message                                          |
|-----------------------------------------------|-------------------------------------------------------|
| (session / response ``instructions``)         | ``system``, first                                     |
| ``message`` system / user / assistant         | same role; text and audio transcripts (an assistant's |
|                                               | truncated audio: the words heard); user images as parts |
| consecutive ``function_call`` / ``mcp_call``  | one ``assistant`` message with ``tool_calls``         |
| ``function_call_output``                      | ``tool`` message after its call                       |
| ``mcp_call`` (its output or error)            | ``tool`` message after its call                       |

A call with no output yet is left out (the API refuses unanswered tool calls), and so is an output
whose call is not in the group just before it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from ovos_realtime_plugin.core.items import Item

ChatMessage = dict[str, Any]


def tool_calls_message(text: str, calls: Sequence[dict[str, Any]]) -> ChatMessage:
    """An assistant message with tool calls; ``content`` is a string even when empty: OpenAI takes ``null``
    there too, but llama-cpp-python's server refuses ``null`` and its templates need the key."""
    return {"role": "assistant", "content": text, "tool_calls": list(calls)}


def chat_messages(items: Sequence[Item], instructions: str = "") -> list[ChatMessage]:
    messages: list[ChatMessage] = [{"role": "system", "content": instructions}] if instructions.strip() else []
    answered = {i.call_id for i in items if i.type == "function_call_output"}
    calls: list[dict[str, Any]] = []
    outputs: list[ChatMessage] = []
    group: set[str] = set()  # the call ids of the last assistant tool_calls message

    def flush() -> None:
        if calls:
            messages.append(tool_calls_message("", calls))
            group.clear()
            group.update(c["id"] for c in calls)
            messages.extend(outputs)
            calls.clear()
            outputs.clear()

    for item in items:
        if item.type == "function_call" and item.call_id in answered:
            calls.append(tool_call(item.call_id or item.id, item.name or "", item.arguments))
        elif item.type == "mcp_call" and item.name and (item.output is not None or item.error is not None):
            calls.append(tool_call(item.id, item.name, item.arguments))
            outputs.append({"role": "tool", "tool_call_id": item.id, "content": mcp_output(item)})
        elif item.type == "function_call_output":
            flush()
            if item.call_id in group:
                messages.append({"role": "tool", "tool_call_id": item.call_id, "content": item.output or ""})
        elif item.type == "message":
            flush()
            group.clear()
            message = chat_message(item)
            if message is not None:
                messages.append(message)
    flush()
    return messages


def tool_call(call_id: str, name: str, arguments: str | None) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments or "{}"}}


def mcp_output(item: Item) -> str:
    if item.error is not None:
        return f"error: {item.error.get('message') or item.error.get('type') or 'the tool failed'}"
    return item.output or ""


def chat_message(item: Item) -> ChatMessage | None:
    role = item.role if item.role in ("system", "user", "assistant") else "user"
    text = item.text().strip()
    images = [c.image_url for c in item.content if c.type == "input_image" and c.image_url]
    if role == "user" and images:
        parts: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
        parts += [{"type": "image_url", "image_url": {"url": url}} for url in images]
        return {"role": role, "content": parts}
    return {"role": role, "content": text} if text else None


# --- tools -------------------------------------------------------------------------------------------------
def chat_tool(name: str, description: str | None, parameters: dict[str, Any] | None) -> dict[str, Any]:
    function: dict[str, Any] = {"name": name, "parameters": parameters or {"type": "object", "properties": {}}}
    if description:
        function["description"] = description
    return {"type": "function", "function": function}


def client_functions(tools: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The client's function tools (Realtime shape: name, description, parameters) as chat tools, by name."""
    return {str(t["name"]): chat_tool(str(t["name"]), t.get("description"), t.get("parameters"))
            for t in tools if t.get("type") == "function" and t.get("name")}


def chat_tool_choice(choice: str | dict[str, Any]) -> str | dict[str, Any]:
    """Realtime ``tool_choice`` → chat ``tool_choice``: a named function or MCP tool becomes a named function."""
    if isinstance(choice, dict):
        name = choice.get("name")
        return {"type": "function", "function": {"name": str(name)}} if name else "auto"
    return choice if choice in ("auto", "none", "required") else "auto"


def parse_arguments(arguments: str) -> dict[str, Any]:
    """A call's JSON arguments as a dict; raises ``ValueError`` on anything else."""
    value = json.loads(arguments or "{}")
    if not isinstance(value, dict):
        raise ValueError("the arguments are not a JSON object")
    return value
