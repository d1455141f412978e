"""The event catalogue: what ovos-realtime accepts and emits, per dialect; prints the README's matrix.

Client types come from the client event models; server types are every name the core emits
(a test scans the core for ``emit("…")`` calls and fails when this list misses one).
"""

from __future__ import annotations

from ovos_realtime_plugin.protocol.client_events import CLIENT_EVENTS
from ovos_realtime_plugin.protocol.parse import BETA_ONLY
from ovos_realtime_plugin.protocol.render import BETA_NAMES

SERVER_EVENTS = (
    "error", "session.created", "session.updated", "conversation.created",
    "conversation.item.added", "conversation.item.done", "conversation.item.retrieved", "conversation.item.deleted",
    "conversation.item.truncated", "conversation.item.input_audio_transcription.delta",
    "conversation.item.input_audio_transcription.completed", "conversation.item.input_audio_transcription.failed",
    "input_audio_buffer.committed", "input_audio_buffer.cleared", "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped", "input_audio_buffer.timeout_triggered",
    "response.created", "response.done", "response.output_item.added", "response.output_item.done",
    "response.content_part.added", "response.content_part.done", "response.output_text.delta",
    "response.output_text.done", "response.output_audio.delta", "response.output_audio.done",
    "response.output_audio_transcript.delta", "response.output_audio_transcript.done",
    "response.function_call_arguments.delta", "response.function_call_arguments.done",
    "response.mcp_call_arguments.delta", "response.mcp_call_arguments.done", "response.mcp_call.in_progress",
    "response.mcp_call.completed", "response.mcp_call.failed", "mcp_list_tools.in_progress",
    "mcp_list_tools.completed", "mcp_list_tools.failed", "rate_limits.updated",
)


def beta_name(ga_name: str) -> str | None:
    if ga_name in ("session.created", "session.updated"):
        return f"{ga_name} (transcription_{ga_name} in transcription sessions)"
    return BETA_NAMES.get(ga_name, ga_name)


def matrix() -> str:
    """The README's event support matrix, as markdown."""
    lines = ["| direction | GA event | beta event |", "|---|---|---|"]
    for name in CLIENT_EVENTS:
        lines.append(f"| client → server | `{name}` | `{name}` |")
    for name in BETA_ONLY:
        lines.append(f"| client → server | — | `{name}` |")
    for name in SERVER_EVENTS:
        ga = "— (beta only)" if name == "conversation.created" else f"`{name}`"
        beta = beta_name(name)
        lines.append(f"| server → client | {ga} | {'—' if beta is None else f'`{beta}`'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(matrix())
