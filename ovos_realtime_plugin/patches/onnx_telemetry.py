"""onnxruntime's usage telemetry off: it is sent from onnxruntime's own threads, and this server runs offline."""

from __future__ import annotations

import os


def no_telemetry() -> None:
    """Turn it off before any session (a process-wide setting of onnxruntime's, hence a process of ours only)."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    try:
        import onnxruntime  # type: ignore[import-untyped]  # heavy: only once the engines load
    except ImportError:
        return
    onnxruntime.disable_telemetry_events()
