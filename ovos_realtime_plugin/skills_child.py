"""The embedded skills service: ovos-core's own ``python -m ovos_core``, four per-utterance costs removed first.

Two OVOS helpers walk the stack with ``inspect.stack()``, which reads the source of every frame: ``LOG`` (to
name its caller) and ``dig_for_message`` (to find the message being handled). ovos-core calls both on every
utterance. Measured with py-spy on "what time is it": ``LOG`` was 28 % of the intent service's time, and
``dig_for_message`` 76 % of the date-time skill's handler. :mod:`~ovos_realtime_plugin.ovos_log` and
:mod:`~ovos_realtime_plugin.ovos_frames` give the same results from the frames themselves. The third is
padatious's thread pool per utterance (:func:`match_intents_inline`). The fourth is websocket-client's UTF-8 check
of every bus message, byte by byte in Python (:mod:`~ovos_realtime_plugin.ws_utf8`: the service's CPU per answered
turn went from 31 to 25 ms). Everything else is ovos-core's own entry point, arguments included.

    python -m ovos_realtime_plugin.skills_child --disable-installer
"""

from __future__ import annotations

import contextlib
import runpy
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ovos_realtime_plugin.ovos_frames import cheap_message_digging
from ovos_realtime_plugin.ovos_log import cheap_caller_names
from ovos_realtime_plugin.ws_utf8 import fast_utf8_check


class InlineExecutor(contextlib.AbstractContextManager["InlineExecutor"]):
    """What padatious asks of ``ThreadPoolExecutor()`` (``with ... as pool: pool.map(fn, intents)``), run in the
    calling thread: the same results in the same order, without starting a pool of threads per utterance."""

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> Iterator[Any]:
        return iter(list(map(fn, *iterables)))

    def __exit__(self, *exc: object) -> None:
        return None


def match_intents_inline() -> None:
    """padatious matches an utterance against each intent on a new thread pool (``IntentManager.calc_intents``);
    each match is a small neural-net call, so starting the threads cost more than the matching (py-spy: 40 % of
    the intent service's time per utterance). Where that module is as described, it matches inline."""
    try:
        from ovos_padatious import intent_manager  # type: ignore[import-untyped]
    except ImportError:
        return
    if getattr(intent_manager, "ThreadPoolExecutor", None) is not None:
        intent_manager.ThreadPoolExecutor = InlineExecutor


if __name__ == "__main__":
    cheap_caller_names()
    cheap_message_digging()
    match_intents_inline()
    fast_utf8_check()
    runpy.run_module("ovos_core", run_name="__main__", alter_sys=True)
