"""``GET /healthz`` and ``GET /metrics``: what they answer, whatever HTTP server carries them.

``/healthz``: 200 once sessions are taken and the messagebus (if any) is connected, else 503, with a JSON body::

    {"status": "ok", "bus": true, "skills_ready": true, "sessions": 2,
     "engines": {"stt": "ovos-stt-plugin-whisper-fitted", "tts": "ovos-tts-plugin-piper",
                 "vad": "ovos-vad-plugin-silero-v6"},
     "transcription_models": {"gpt-4o-mini-transcribe": "ovos-stt-plugin-moonshine-base-en"}}

``bus`` is ``null`` for a server that has no messagebus (an embedded use). ``status`` is ``"starting"`` before
sessions are taken, ``"bus down"`` while the messagebus connection is lost and ``"skills down"`` while the
standalone daemon restarts the skills service it runs (all 503).

``/metrics``: the Prometheus text format (:mod:`.metrics`). It follows the server's auth: with no API keys
configured the server listens on loopback only and ``/metrics`` is open; with keys (plain or ``keys`` entries), a
scrape needs one (``Authorization: Bearer <key>``) unless the ``"realtime"`` section says ``"metrics": {"open":
true}``. A refused scrape gets 401.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from ovos_realtime_plugin.server import metrics
from ovos_realtime_plugin.server.api_keys import find_key
from ovos_realtime_plugin.server.settings import ServerSettings
from ovos_realtime_plugin.server.speech_engines import SpeechEngines

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class HttpAnswer:
    status: HTTPStatus
    content_type: str
    body: bytes


@dataclass
class StatusProbe:
    """What the server cannot see for itself; the daemon fills it in once it holds a bus connection."""

    bus_connected: Callable[[], bool] | None = None
    skills_ready: Callable[[], bool] = field(default=lambda: False)
    skills_down: Callable[[], bool] = field(default=lambda: False)
    """True while the skills service the daemon runs is being restarted."""

    def watch(self, bus_connected: Callable[[], bool], skills_ready: Callable[[], bool]) -> None:
        self.bus_connected, self.skills_ready = bus_connected, skills_ready
        metrics.watch_status(bus_connected, skills_ready)


def _name(engine: Any) -> str | None:
    return None if engine is None else str(getattr(engine, "module", type(engine).__name__))


def engine_names(speech: SpeechEngines | None) -> dict[str, str | None]:
    """The plugin each engine runs (``None``: none loaded)."""
    if speech is None:
        return {"stt": None, "tts": None, "vad": None}
    vad = getattr(speech.new_vad, "__self__", speech.new_vad)
    return {"stt": _name(speech.stt), "tts": _name(speech.tts), "vad": _name(vad)}


def health(ready: bool, sessions: int, speech: SpeechEngines | None, probe: StatusProbe) -> HttpAnswer:
    bus = probe.bus_connected() if probe.bus_connected is not None else None
    state = "starting" if not ready else "bus down" if bus is False else "skills down" if probe.skills_down() else "ok"
    body = {"status": state, "bus": bus, "skills_ready": probe.skills_ready(), "sessions": sessions,
            "engines": engine_names(speech),
            "transcription_models": {model: _name(stt) for model, stt in speech.transcription_models.items()}
            if speech is not None else {}}
    status = HTTPStatus.OK if state == "ok" else HTTPStatus.SERVICE_UNAVAILABLE
    return HttpAnswer(status, JSON, json.dumps(body).encode() + b"\n")


def scrape(settings: ServerSettings, headers: Mapping[str, str]) -> HttpAnswer:
    """The ``/metrics`` answer for a request with these headers."""
    keys = settings.keys()
    if keys and not settings.metrics_open:
        scheme, _, key = headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or find_key(keys, key.strip()) is None:
            return HttpAnswer(HTTPStatus.UNAUTHORIZED, TEXT, b"an API key is required: Authorization: Bearer <key>\n")
    content_type, body = metrics.exposition()
    return HttpAnswer(HTTPStatus.OK, content_type, body)
