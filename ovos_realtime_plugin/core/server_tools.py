"""Server-side (``mcp``) tools: when a session gains one, its tool list becomes an ``mcp_list_tools`` item.

For each ``mcp`` tool whose ``server_label`` the session did not have before a ``session.update``
(when the dialect has MCP items: GA, not beta), right after ``session.updated``::

    conversation.item.added (mcp_list_tools, tools: [])
    mcp_list_tools.in_progress {item_id}
    mcp_list_tools.completed {item_id}      or  mcp_list_tools.failed (the lister does not know the server)
    conversation.item.done (mcp_list_tools, tools: [...])

The tools come from the session's :class:`~ovos_realtime_plugin.core.assistant.ToolLister`, if any.
"""

from __future__ import annotations

from collections.abc import Sequence

from ovos_realtime_plugin.core.assistant import ToolLister
from ovos_realtime_plugin.core.config import McpTool, Tool
from ovos_realtime_plugin.core.conversation import Conversation
from ovos_realtime_plugin.core.events import Emit
from ovos_realtime_plugin.core.ids import new_id
from ovos_realtime_plugin.core.items import Item


def mcp_labels(tools: Sequence[Tool]) -> set[str]:
    return {tool.server_label for tool in tools if isinstance(tool, McpTool)}


def list_new_servers(before: Sequence[Tool], after: Sequence[Tool], lister: ToolLister | None,
                     conversation: Conversation, mcp_items: bool, emit: Emit) -> None:
    """Add an ``mcp_list_tools`` item for every ``mcp`` tool of ``after`` whose server ``before`` lacked
    (when the client's dialect has MCP items)."""
    if not mcp_items:
        return
    known = mcp_labels(before)
    for tool in after:
        if not isinstance(tool, McpTool) or tool.server_label in known:
            continue
        known.add(tool.server_label)
        item = Item(id=new_id("mcpl"), type="mcp_list_tools", server_label=tool.server_label, tools=[])
        previous = conversation.insert(item)
        emit("conversation.item.added", {"previous_item_id": previous, "item": item})
        emit("mcp_list_tools.in_progress", {"item_id": item.id})
        listed = lister.list_tools(tool.model_dump(mode="json")) if lister is not None else None
        if listed is None:
            emit("mcp_list_tools.failed", {"item_id": item.id})
        else:
            item.tools = listed
            emit("mcp_list_tools.completed", {"item_id": item.id})
        emit("conversation.item.done", {"previous_item_id": previous, "item": item})
