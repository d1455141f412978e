"""The C heap of a long-running daemon whose models run on several threads (glibc only; elsewhere a no-op).

glibc gives each thread that allocates its own arena, up to 8 per core, and keeps freed memory in them: the
STT, TTS and VAD threads, onnxruntime's and CTranslate2's pools and the asyncio helpers each hold on to what
loading and running a model once needed. :func:`limit_arenas` caps the arenas at :data:`ARENAS` (as
``MALLOC_ARENA_MAX`` would; the skills service gets that variable), and :func:`trim` hands freed pages back to
the system (after the models are loaded and warmed, where loading left ~50 MB of garbage behind).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

log = logging.getLogger(__name__)
ARENAS = 2
_M_ARENA_MAX = -8  # mallopt parameter, malloc.h


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def limit_arenas() -> None:
    """Call before the engine threads start."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, ARENAS)


def trim() -> None:
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
        log.debug("freed heap memory handed back to the system")
