"""The C heap of a long-running daemon whose models run on several threads (glibc only; elsewhere a no-op).

glibc gives each thread that allocates its own arena, up to 8 per core, and keeps freed memory in them: the
STT, TTS and VAD threads, onnxruntime's and CTranslate2's pools and the asyncio helpers each hold on to what
loading and running a model once needed. :func:`limit_arenas` caps the arenas at :data:`ARENAS` (as
``MALLOC_ARENA_MAX`` would; the skills service gets that variable), and :func:`trim` hands freed pages back to
the system (after the models are loaded and warmed, where loading left ~50 MB of garbage behind; then, as
:data:`IDLE`, whenever the engines have been quiet a second).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator

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


class IdleTrimmer:
    """Hands freed memory back once the engines have been quiet for ``quiet_s``, never next to a running call.

    ``malloc_trim`` locks each arena while it walks it (~13 ms here), so every other thread that allocates
    waits: trimming on the STT thread right after a transcript slowed the answer's TTS beside it (median 190
    against 173 ms per sentence, 16 alternating runs each). Engine calls are wrapped in :meth:`busy`; once the
    last one has ended and none has started for ``quiet_s``, one trim runs on a timer thread.
    """

    def __init__(self, quiet_s: float = 1.0, *, trim_fn: Callable[[], None] = trim,
                 clock: Callable[[], float] = time.monotonic,
                 schedule: Callable[[float, Callable[[], None]], None] | None = None) -> None:
        self.quiet_s = quiet_s
        self._trim, self._clock = trim_fn, clock
        self._schedule = schedule or _timer
        self._lock = threading.Lock()
        self._active = 0
        self._last_end = 0.0
        self._pending = False  # a trim is scheduled
        self._dirty = False  # an engine ran since the last trim

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        with self._lock:
            self._active += 1
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1
                self._last_end, self._dirty = self._clock(), True
                self._arm(self.quiet_s)

    def _arm(self, delay: float) -> None:
        if not self._pending:
            self._pending = True
            self._schedule(delay, self._fire)

    def _fire(self) -> None:
        with self._lock:
            self._pending = False
            if not self._dirty:
                return
            quiet_for = self._clock() - self._last_end
            if self._active or quiet_for < self.quiet_s:
                self._arm(self.quiet_s - quiet_for if not self._active else self.quiet_s)
                return
            self._dirty = False
        self._trim()


def _timer(delay: float, fn: Callable[[], None]) -> None:
    timer = threading.Timer(delay, fn)
    timer.daemon = True
    timer.start()


IDLE = IdleTrimmer()
"""The process's trimmer: the engine threads (``engines/worker.py``) report their calls to it."""
