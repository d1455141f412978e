"""What the HTTP routes need of the server (the WebRTC calls, the key endpoints, the console): one small interface,
so that they depend on it rather than on :class:`~ovos_realtime_plugin.server.app.RealtimeServer`, which adds them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ovos_realtime_plugin.core.assistant import Assistant
from ovos_realtime_plugin.protocol.session import RealtimeSession
from ovos_realtime_plugin.server.access import AccessPolicy
from ovos_realtime_plugin.server.client_secrets import ClientSecrets, Grant
from ovos_realtime_plugin.server.handshake import Handshake
from ovos_realtime_plugin.server.settings import ServerSettings
from ovos_realtime_plugin.server.transport import Transport

if TYPE_CHECKING:
    from ovos_realtime_plugin.server.webrtc.call import Call


class SessionHost(Protocol):
    settings: ServerSettings
    secrets: ClientSecrets
    access: AccessPolicy
    calls: dict[str, Call]
    """WebRTC calls by id."""
    ready: bool
    """Sessions are taken (the skills are ready)."""

    def open_session(self, hs: Handshake, grant: Grant | None = None) -> tuple[RealtimeSession, Assistant]:
        """A new session and its assistant, or the ``ProtocolError`` that refuses it (its slot counted)."""
        ...

    def new_session(self, hs: Handshake, granted: dict[str, object]) -> RealtimeSession:
        """A session object alone (no slot), to render what a key would open."""
        ...

    def check_session(self, session: dict[str, object]) -> None:
        """Raise ``ProtocolError`` when no connection could open with ``session``."""
        ...

    def release(self, session: RealtimeSession) -> None:
        """``session`` has ended: its slot is free."""
        ...

    async def run_connection(self, transport: Transport, session: RealtimeSession, assistant: Assistant) -> None:
        """Serve ``session`` over ``transport`` until it ends."""
        ...
