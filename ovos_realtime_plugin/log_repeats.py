"""A logging filter that lets the same line through a few times a minute, then says how many it held back.

Under a flood (a descriptor limit reached, a client that repeats a mistake thousands of times a second) one
line repeated without end fills the disk and hides everything else; the daemon puts this filter on its handlers.
Debug lines all pass: they are there only when asked for (``--log-level DEBUG``), to see every step, and a line
per step is what they are (e.g. the voice trace, one line of the same shape per turn).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

MAX_KEYS = 1024  # distinct lines tracked at once; the oldest window is dropped past it


class RepeatedLines(logging.Filter):
    """At most ``burst`` records with the same logger, level and message template per ``window_s``; the first
    record let through after a held-back run says how many were held back."""

    def __init__(self, burst: int = 5, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.burst = burst
        self.window_s = window_s
        self.clock = clock
        self._seen: dict[tuple[str, int, str], list[float]] = {}  # key → [window start, count, held back]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.INFO:
            return True
        key = (record.name, record.levelno, str(record.msg)[:200])
        now = self.clock()
        seen = self._seen.get(key)
        if seen is None or now - seen[0] >= self.window_s:
            held = int(seen[2]) if seen is not None else 0
            if len(self._seen) >= MAX_KEYS and seen is None:
                self._seen.pop(next(iter(self._seen)))
            self._seen[key] = [now, 1.0, 0.0]
            if held:
                record.msg = f"{record.msg} [{held} more like this held back in the last {self.window_s:g} s]"
            return True
        seen[1] += 1
        if seen[1] <= self.burst:
            return True
        seen[2] += 1
        return False
