"""Prometheus metrics (``prometheus-client``): every number ovos-realtime reports at ``/metrics``.

The definitions live here; the rest of the code calls the small hooks below:

- :func:`session` (context manager), around each connection: ``sessions_open``, ``sessions_total``
- :class:`ConnectionMetrics`, one per connection, fed each frame in (``received_bytes_total``) and each event
  out: ``sent_bytes_total``, ``responses_total{status}``, ``errors_total{code}``, ``rate_limit_rejections_total``,
  and the voice-turn stages seen on the wire (:class:`VoiceTurnStages`)
- :func:`engine_queued` and :func:`engine_call`, the engine threads (STT, TTS, VAD): ``engine_queue_depth``,
  ``engine_calls_total{engine,outcome}``, ``engine_call_seconds``
- :func:`transcription`, each transcription asked of an STT plugin: ``transcriptions_total{plugin}`` (which
  plugin a session's ``transcription.model`` chose)
- :func:`observe_stage`, any voice-turn trace: ``voice_turn_stage_seconds{stage}``
- :func:`watch_status`, the daemon once connected: ``bus_connected``, ``skills_ready``

All metrics are named ``ovos_realtime_*`` and live in prometheus-client's default registry (with its process
and Python collectors): one server per process, as the daemon and the PHAL plugin run it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

PREFIX = "ovos_realtime"
ENGINE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)

SESSIONS_OPEN = Gauge(f"{PREFIX}_sessions_open", "Realtime sessions open now", ["dialect", "kind"])
SESSIONS_TOTAL = Counter(f"{PREFIX}_sessions", "Realtime sessions opened", ["dialect", "kind"])
RESPONSES = Counter(f"{PREFIX}_responses", "Responses ended (response.done), by status", ["status"])
ERRORS = Counter(f"{PREFIX}_errors", "error events sent, by error code", ["code"])
RATE_LIMITED = Counter(f"{PREFIX}_rate_limit_rejections", "Client events refused by a rate limit")
RECEIVED_BYTES = Counter(f"{PREFIX}_received_bytes", "WebSocket payload bytes received from clients")
SENT_BYTES = Counter(f"{PREFIX}_sent_bytes", "WebSocket payload bytes sent to clients")
ENGINE_CALLS = Counter(f"{PREFIX}_engine_calls", "Speech engine calls, by engine and outcome",
                       ["engine", "outcome"])
ENGINE_SECONDS = Histogram(f"{PREFIX}_engine_call_seconds", "Speech engine call time on its thread", ["engine"],
                           buckets=ENGINE_BUCKETS)
ENGINE_QUEUE = Gauge(f"{PREFIX}_engine_queue_depth", "Speech engine calls waiting or running", ["engine"])
TRANSCRIPTIONS = Counter(f"{PREFIX}_transcriptions", "Transcriptions asked of an STT plugin, by plugin", ["plugin"])
STAGES = Histogram(f"{PREFIX}_voice_turn_stage_seconds", "Voice-turn latency per stage", ["stage"],
                   buckets=STAGE_BUCKETS)
BUS_CONNECTED = Gauge(f"{PREFIX}_bus_connected", "1 while connected to the OVOS messagebus")
SKILLS_READY = Gauge(f"{PREFIX}_skills_ready", "1 once the OVOS skills answered ready and sessions are taken")


@contextmanager
def session(dialect: str, kind: str) -> Iterator[None]:
    """Counts one Realtime session while it is open."""
    SESSIONS_TOTAL.labels(dialect, kind).inc()
    gauge = SESSIONS_OPEN.labels(dialect, kind)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


def payload_size(frame: str | bytes) -> int:
    """A frame's size in bytes (JSON text is nearly always ASCII: no encoding needed to count it)."""
    if isinstance(frame, bytes) or not frame.isascii():
        return len(frame if isinstance(frame, bytes) else frame.encode())
    return len(frame)


def events_sent(frames: Sequence[tuple[Mapping[str, Any], str]]) -> None:
    """Server events gone out, each with its JSON text: bytes, responses ended, errors, rate-limit refusals."""
    SENT_BYTES.inc(sum(payload_size(text) for _, text in frames))
    for event, _ in frames:
        _count_outcome(event)


def _count_outcome(event: Mapping[str, Any]) -> None:
    kind = event.get("type")
    if kind == "response.done":
        RESPONSES.labels(str((event.get("response") or {}).get("status", "unknown"))).inc()
    elif kind == "error":
        error = event.get("error") or {}
        ERRORS.labels(str(error.get("code") or error.get("type") or "unknown")).inc()
        if error.get("type") == "rate_limit_error":
            RATE_LIMITED.inc()


@contextmanager
def engine_queued(engine: str) -> Iterator[None]:
    """One call waiting for or running on an engine's thread."""
    depth = ENGINE_QUEUE.labels(engine)
    depth.inc()
    try:
        yield
    finally:
        depth.dec()


@contextmanager
def engine_call(engine: str) -> Iterator[None]:
    """One engine call running on its thread: counted by outcome, timed."""
    start = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    finally:
        ENGINE_SECONDS.labels(engine).observe(time.perf_counter() - start)
        ENGINE_CALLS.labels(engine, outcome).inc()


def transcription(plugin: str) -> None:
    """One transcription (or one piece of long audio) asked of the STT plugin ``plugin``."""
    TRANSCRIPTIONS.labels(plugin).inc()


class ConnectionMetrics:
    """One connection's hooks: each frame received, each event sent."""

    def __init__(self) -> None:
        self.stages = VoiceTurnStages()

    def received(self, frame: str | bytes) -> None:
        RECEIVED_BYTES.inc(payload_size(frame))

    def sent(self, frames: Sequence[tuple[Mapping[str, Any], str]]) -> None:
        events_sent(frames)
        for event, _ in frames:
            self.stages.saw(str(event.get("type")))


TURN_START = "input_audio_buffer.speech_stopped"
TURN_END = "response.done"
STAGE_EVENTS = {
    "conversation.item.input_audio_transcription.completed": "transcript",
    "response.output_text.delta": "first_text", "response.text.delta": "first_text",
    "response.output_audio_transcript.delta": "first_text", "response.audio_transcript.delta": "first_text",
    "response.output_audio.delta": "first_audio", "response.audio.delta": "first_audio",
}
"""The events (GA and beta names) that end a stage, timed from the end of the user's speech."""


class VoiceTurnStages:
    """A voice turn's latencies as the client sees them: from ``speech_stopped`` to the turn's transcript
    (``transcript``), its answer's first words (``first_text``) and first audio (``first_audio``), each once,
    until the turn's ``response.done``."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter,
                 observe: Callable[[str, float], None] | None = None) -> None:
        self._clock = clock
        self._observe = observe or observe_stage
        self._stopped_at: float | None = None
        self._seen: set[str] = set()

    def saw(self, kind: str) -> None:
        if kind == TURN_START:
            self._stopped_at, self._seen = self._clock(), set()
        elif kind == TURN_END:
            self._stopped_at = None
        elif self._stopped_at is not None and (stage := STAGE_EVENTS.get(kind)) and stage not in self._seen:
            self._seen.add(stage)
            self._observe(stage, self._clock() - self._stopped_at)


def observe_stage(stage: str, seconds: float) -> None:
    """One stage of a voice turn took ``seconds`` (e.g. ``stt``, ``assistant_first_text``, ``tts_first_audio``)."""
    STAGES.labels(stage).observe(seconds)


def watch_status(bus_connected: Callable[[], bool], skills_ready: Callable[[], bool]) -> None:
    """Read these at each scrape (the daemon's bus connection and readiness)."""
    BUS_CONNECTED.set_function(lambda: float(bus_connected()))
    SKILLS_READY.set_function(lambda: float(skills_ready()))


def exposition() -> tuple[str, bytes]:
    """The content type and body of a ``/metrics`` answer."""
    return CONTENT_TYPE_LATEST, generate_latest(REGISTRY)
