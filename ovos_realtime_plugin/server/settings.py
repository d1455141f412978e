"""Server settings: read once at start-up from the ``"realtime"`` section of mycroft.conf and the command line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ovos_realtime_plugin.core.limits import SessionLimits
from ovos_realtime_plugin.core.ratelimit import RateLimitSettings
from ovos_realtime_plugin.server.access import AccessSettings, access_from_config
from ovos_realtime_plugin.server.api_keys import ApiKey, keys_from_config
from ovos_realtime_plugin.server.client_secrets import SecretLimits, secret_limits_from_config
from ovos_realtime_plugin.server.http_guard import HttpLimits, http_limits_from_config
from ovos_realtime_plugin.server.limits import DEFAULT_FRAMES_PER_S, limit_settings
from ovos_realtime_plugin.server.outbox import DEFAULT_BUDGET_BYTES
from ovos_realtime_plugin.server.voice_capacity import default_voice_sessions
from ovos_realtime_plugin.server.webrtc.settings import WebRTCSettings, webrtc_from_config

DEFAULT_PORT = 60200
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    api_keys: frozenset[str] = frozenset()
    limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    session_defaults: dict[str, Any] = field(default_factory=dict)
    language: str = "en-US"
    allow_beta: bool = True
    early_transcripts: bool = True  # transcribe at the user's pause, before the silence window ends the turn
    ping_interval_s: float = 20.0
    max_message_bytes: int = 16 * 1024 * 1024 + 64 * 1024  # admits a 15 MiB append once base64-encoded
    metrics_open: bool = False  # /metrics without an API key even when keys are configured
    webrtc: WebRTCSettings = field(default_factory=WebRTCSettings)
    outbox_budget_bytes: int = DEFAULT_BUDGET_BYTES  # events a client may leave unread before it is disconnected
    session_limits: SessionLimits = field(default_factory=SessionLimits)
    max_sessions: int = 1000
    max_voice_sessions: int = field(default_factory=default_voice_sessions)  # 0: no limit
    voice_busy_line: str | None = None  # past max_voice_sessions: turns answered with it instead of a refusal
    max_frames_per_s: float = DEFAULT_FRAMES_PER_S
    key_entries: tuple[ApiKey, ...] = ()  # the "keys" entries: per-key names, limits and permissions
    access: AccessSettings = field(default_factory=AccessSettings)  # allowed hosts and origins, trusted proxies
    http: HttpLimits = field(default_factory=HttpLimits)
    client_secrets: SecretLimits = field(default_factory=SecretLimits)

    def keys(self) -> tuple[ApiKey, ...]:
        """Every accepted key: the plain ``api_keys`` and the ``keys`` entries."""
        return keys_from_config(self.api_keys, ()) + self.key_entries

    def check(self) -> None:
        """Refuse to listen beyond loopback without API keys."""
        if not self.api_keys and not self.key_entries and self.host not in LOOPBACK:
            raise ValueError(f"refusing to listen on {self.host} with no API keys: add \"api_keys\" to the "
                             "\"realtime\" section of mycroft.conf or pass --api-key")


def from_config(section: dict[str, Any], **overrides: Any) -> ServerSettings:
    """Settings from the ``"realtime"`` section; keyword overrides (command line) win when not ``None``."""
    limits = section.get("rate_limits") or {}
    values: dict[str, Any] = {
        "host": section.get("host", "127.0.0.1"),
        "port": int(section.get("port", DEFAULT_PORT)),
        "api_keys": frozenset(section.get("api_keys") or []),
        "limits": RateLimitSettings(
            requests_per_minute=int(limits.get("requests_per_minute", RateLimitSettings.requests_per_minute)),
            tokens_per_minute=int(limits.get("tokens_per_minute", RateLimitSettings.tokens_per_minute))),
        "session_defaults": dict(section.get("session_defaults") or {}),
        "language": section.get("lang", "en-US"),
        "allow_beta": bool(section.get("allow_beta", True)),
        "early_transcripts": bool(section.get("early_transcripts", True)),
        "metrics_open": bool((section.get("metrics") or {}).get("open", False)),
        "webrtc": webrtc_from_config(dict(section.get("webrtc") or {})),
        **limit_settings(section.get("limits") or {}),
        "key_entries": keys_from_config((), section.get("keys") or ()),
        "access": access_from_config(section),
        "http": http_limits_from_config(dict(section.get("http") or {})),
        "client_secrets": secret_limits_from_config(dict(section.get("client_secrets") or {})),
    }
    for key, value in overrides.items():
        if value is None:
            continue
        if key == "api_keys":
            value = values["api_keys"] | frozenset(value)
        values[key] = value
    return ServerSettings(**values)
