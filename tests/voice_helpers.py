"""Driving a voice session through the official SDK: streaming audio in, gathering audio out."""

from __future__ import annotations

import base64
from typing import Any

from ovos_realtime_plugin.audio.codec import decode_to_pcm16
from tests.sdk_helpers import collect

CHUNK_MS = 100


async def stream_audio(conn: Any, audio: bytes, bytes_per_ms: float, chunk_ms: int = CHUNK_MS) -> None:
    """Append ``audio`` in chunks as a client streaming a microphone would (without waiting in between)."""
    step = int(bytes_per_ms * chunk_ms)
    for start in range(0, len(audio), step):
        await conn.input_audio_buffer.append(audio=base64.b64encode(audio[start:start + step]).decode())


async def open_voice_session(conn: Any, modality: str = "audio") -> None:
    """A GA voice session with server VAD and input transcription, answering in ``modality``."""
    await collect(conn, "session.created")
    await conn.session.update(session={"type": "realtime", "output_modalities": [modality],
                                       "audio": {"input": {"transcription": {"model": "whisper-1"}}}})
    await collect(conn, "session.updated")


def response_failure(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The error a failed response reports in its ``response.done`` (as OpenAI reports a failure inside a
    response: never as a top-level ``error``, which the events must not carry)."""
    assert [e for e in events if e["type"] == "error"] == [], "a failure inside a response is no top-level error"
    done = first(events, "response.done")["response"]
    assert done["status"] == "failed" and done["status_details"]["type"] == "failed", done
    error: dict[str, Any] = done["status_details"]["error"]
    return error


def first(events: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(e for e in events if e["type"] == kind)


def output_audio(events: list[dict[str, Any]], fmt: str = "audio/pcm", beta: bool = False) -> bytes:
    """The response's audio deltas joined and decoded to PCM16."""
    kind = "response.audio.delta" if beta else "response.output_audio.delta"
    raw = b"".join(base64.b64decode(e["delta"]) for e in events if e["type"] == kind)
    return decode_to_pcm16(raw, fmt)


def words(text: str) -> list[str]:
    return "".join(c.lower() if c.isalnum() else " " for c in text).split()
