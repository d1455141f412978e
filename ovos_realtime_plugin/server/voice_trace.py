"""Where the time of a voice turn goes: one mark per stage, relative to ``speech_stopped``.

| stage            | marked when                                                                 |
|------------------|-----------------------------------------------------------------------------|
| ``pause``        | the user paused and an early transcript was asked for                       |
| ``stt_start``    | a transcription is asked of the STT engine (early attempt or final);        |
|                  | its wait for a worker, behind earlier deadlines, counts until stt_end       |
| ``stt_end``      | it ends                                                                     |
| ``stt_dropped``  | an early attempt was of no use any more (speech resumed) and was skipped    |
| ``answer_prepared`` | the answer to the paused turn was said before the turn ended (early_answer) |
| ``tts_prepare``  | its first sentence's synthesis starts, before the response asks for it     |
| ``speech_stopped`` | the turn ended (the 0 every other stage is measured from)                 |
| ``transcript``   | the user's words were known to the core                                     |
| ``utterance_sent`` | the words went to the assistant (for OVOS: onto the bus)                  |
| ``first_answer`` | the first piece of the answer came back (an OVOS ``speak``, an LLM token)   |
| ``tts_start`` / ``tts_end`` | a sentence's synthesis starts / ends (its first piece is heard before) |
| ``first_audio``  | the first audio delta was queued for the client                             |

A turn's marks are logged at debug level when its response is done, one line per turn, and the first of each
stage from the turn's last pause on (not a pause at a gap between words and its dropped transcript) is handed to
every observer (:func:`add_stage_observer`, e.g. a metrics exporter) and kept in
:data:`RECENT` (the last :data:`KEEP` values per stage).
"""

from __future__ import annotations

import logging
import statistics
import time
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
StageObserver = Callable[[str, float], None]
KEEP = 256
RECENT: dict[str, deque[float]] = {}
_observers: list[StageObserver] = []

_EVENT_STAGES = {
    "input_audio_buffer.speech_stopped": "speech_stopped",
    "conversation.item.input_audio_transcription.completed": "transcript",
    "response.output_audio.delta": "first_audio",
}


def add_stage_observer(observer: StageObserver) -> None:
    """Call ``observer(stage, seconds after speech_stopped)`` for one mark of each stage of every turn (see above)."""
    _observers.append(observer)


def remove_stage_observer(observer: StageObserver) -> None:
    if observer in _observers:
        _observers.remove(observer)


def stage_medians() -> dict[str, float]:
    """The median of each stage over the recent turns, in seconds after ``speech_stopped``."""
    return {stage: statistics.median(values) for stage, values in RECENT.items() if values}


class VoiceTrace:
    """The marks of one connection's current voice turn."""

    def __init__(self, session_id: str, clock: Callable[[], float] = time.perf_counter) -> None:
        self.session_id = session_id
        self.clock = clock
        self._marks: list[tuple[str, float, str]] = []
        self._stopped: float | None = None

    def mark(self, stage: str, detail: str = "") -> None:
        self._marks.append((stage, self.clock(), detail))
        if stage == "speech_stopped":
            self._stopped = self._marks[-1][1]

    def mark_first(self, stage: str) -> None:
        """Mark ``stage`` unless this turn has it already."""
        if not self._has(stage):
            self.mark(stage)

    def saw(self, event: dict[str, Any]) -> None:
        """An event on its way to the client: some are stages, some start or end a turn."""
        kind = event.get("type")
        if kind == "input_audio_buffer.speech_started":
            self._marks, self._stopped = [], None
        elif kind == "response.done":
            self._report()
        elif kind in _EVENT_STAGES:
            self.mark_first(_EVENT_STAGES[kind])

    def _has(self, stage: str) -> bool:
        return any(mark[0] == stage for mark in self._marks)

    def _report(self) -> None:
        marks, stopped = self._marks, self._stopped
        self._marks, self._stopped = [], None
        if stopped is None:
            return  # not a voice turn (a text turn, or the response of a commit without VAD)
        last_pause = max((i for i, (stage, at, _) in enumerate(marks) if stage == "pause" and at <= stopped),
                         default=0)
        chosen: dict[str, float] = {}
        for stage, at, _ in marks[last_pause:] + marks[:last_pause]:  # the turn's last pause first
            chosen.setdefault(stage, at - stopped)
        for stage, seconds in chosen.items():
            RECENT.setdefault(stage, deque(maxlen=KEEP)).append(seconds)
            for observer in list(_observers):
                observer(stage, seconds)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("[%s] voice turn: %s", self.session_id, ", ".join(
                f"{stage}{'(' + detail + ')' if detail else ''} {(at - stopped) * 1000:+.0f} ms"
                for stage, at, detail in marks))
