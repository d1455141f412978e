"""onnxruntime sessions of the OPM plugins made lean: no spinning threads, no memory kept between runs.

onnxruntime's defaults suit a server with a model of its own on idle cores: a thread pool as wide as the machine
whose threads spin between calls, and a memory arena that keeps the peak of every run. Here VAD, STT and TTS
share two cores and a memory budget, so:

Silero VAD (runs on every 32 ms frame of every connection):

- **One ONNX session, one thread, no spinning.** The Silero plugin opens an onnxruntime session per
  instance (so per connection) with onnxruntime's defaults: a thread pool as wide as the machine whose threads
  spin between calls, taking cores from Whisper and piper for a model that runs ~0.2 ms at a time. (The plugin
  sets ``intra_op_num_threads`` on the session object, which has no effect.) Every instance here shares one
  sequential, non-spinning session per model file; the recurrent state stays per instance.

piper TTS (:mod:`.piper_stream`): its sessions are rebuilt once at start-up with spinning off (the threads sleep
between sentences instead of taking Whisper's cores) and without the memory arena (what a sentence needed is
freed after it).

Not done: skipping the model on quiet frames. espeak-ng leaves digital silence inside words ("what time"), where
the model, carrying its state, still says speech (0.9); a gate there ends turns mid-sentence.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

log = logging.getLogger(__name__)


def share_onnx_session(plugin: Any) -> None:
    """Swap the plugin model's own onnxruntime session for the shared lean one, where there is one to swap."""
    model = getattr(plugin, "vad", None)
    session = getattr(model, "session", None)
    path = getattr(session, "_model_path", None)
    if model is None or not isinstance(path, str) or not hasattr(session, "run"):
        return
    model.session = shared_session(path)


@functools.lru_cache(maxsize=4)
def shared_session(path: str) -> Any:
    """One sequential, non-spinning session per model file, shared by every detector (their state is theirs)."""
    log.debug("one sequential onnxruntime session for %s", path)
    return lean_session(path, threads=1, arena=True)


def lean_session(path: str, threads: int, arena: bool) -> Any:
    import onnxruntime  # type: ignore[import-untyped]

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.enable_cpu_mem_arena = arena
    options.enable_mem_pattern = arena
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])

