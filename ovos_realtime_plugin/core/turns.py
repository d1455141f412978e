"""Turn detection from per-frame speech probabilities: pure logic in stream milliseconds.

The VAD model runs elsewhere (an engine in a worker thread); this decides when a turn starts and ends,
with the protocol's knobs: ``threshold``, ``prefix_padding_ms``, ``silence_duration_ms``, and for
``semantic_vad`` an eagerness-dependent silence window.
"""

from __future__ import annotations

from dataclasses import dataclass

from ovos_realtime_plugin.core.config import SemanticVad, ServerVad
from ovos_realtime_plugin.core.endpointing import Reading
from ovos_realtime_plugin.core.states import TURN, Machine, TurnState, TurnTrigger

# semantic_vad eagerness → how long a pause must last before the turn ends
EAGERNESS_SILENCE_MS = {"high": 250, "medium": 600, "auto": 600, "low": 1200}
MIN_SPEECH_MS = 64  # shorter bursts (clicks, breaths) do not start a turn
FINISHED_PAUSE_MS = 160  # semantic_vad: quiet this long after words that read as finished ends the turn
UNFINISHED_FACTOR = 2  # semantic_vad: a pause after words that read as unfinished must last this much longer
# semantic_vad: after words that could be whole or could go on, the pause must last this much longer than the
# eagerness's window (a hesitation inside a command outlasts the window; a whole command still ends before the
# unfinished window would end it)
UNSURE_FACTOR = 1.5
HYSTERESIS = 0.15
# An early transcript started at a gap between words is wasted work that the final one may queue behind on the
# STT engine: a pause counts (SilenceStarted) once it lasts EARLY_PAUSE_MS, and speech resumes only once it
# lasts RESUME_MS (a lone voiced frame in a pause, a breath or a click, keeps the pause and its transcript).
EARLY_PAUSE_MS = 64
# server_vad: an early answer (its transcript, the intent, the first sentence) is ready this long after its pause is
# told, so a pause is told this long before the silence window ends, not sooner (a gap between words shorter than
# that starts no transcript nobody will use: on a loaded server it is what the final transcripts queue behind).
EARLY_LEAD_MS = 350
# semantic_vad ends its turn when its early transcript arrives, so its pause is told after one quiet frame: the
# voice's end is heard sooner, at the cost of more attempts at gaps between words (docs/PERFORMANCE.md).
SEMANTIC_EARLY_PAUSE_MS = 32
RESUME_MS = 64


@dataclass(frozen=True)
class SpeechStarted:
    audio_start_ms: int


@dataclass(frozen=True)
class SilenceStarted:
    """Speech paused; the turn ends if the pause lasts the silence window (a cue to start work early)."""

    at_ms: int


@dataclass(frozen=True)
class SpeechResumed:
    at_ms: int


@dataclass(frozen=True)
class SpeechStopped:
    audio_end_ms: int
    commit_end_ms: int


TurnEvent = SpeechStarted | SilenceStarted | SpeechResumed | SpeechStopped


class TurnDetector:
    """The user's turn: its state is a machine (:data:`.states.TURN`) moved only here, by the frames and by the
    words heard; the rest is timing data about the run of frames under way."""

    semantic: bool
    silence_ms: int

    def __init__(self, config: ServerVad | SemanticVad) -> None:
        self.turn: Machine[TurnState, TurnTrigger] = Machine(TURN, TurnState.IDLE)
        self.configure(config)
        self.reset()

    def configure(self, config: ServerVad | SemanticVad) -> None:
        """New settings; a pause under way keeps what its words said (or that they are on their way) only while
        the type stays semantic_vad (their reading sets the new window too; server_vad heeds no words)."""
        semantic = isinstance(config, SemanticVad)
        words_heard = semantic and getattr(self, "semantic", False)
        self.semantic = semantic
        if isinstance(config, ServerVad):
            self.threshold = config.threshold
            self.prefix_ms = config.prefix_padding_ms
            self.silence_ms = config.silence_duration_ms
        else:
            self.threshold = 0.5
            self.prefix_ms = 300
            self.silence_ms = EAGERNESS_SILENCE_MS[config.eagerness]
        self.early_pause_ms = (SEMANTIC_EARLY_PAUSE_MS if self.semantic
                               else max(EARLY_PAUSE_MS, self.silence_ms - EARLY_LEAD_MS))
        if not words_heard:
            self._forget_words()

    def reset(self) -> None:
        """Forget the turn under way (the buffer was cleared)."""
        self.turn.fire(TurnTrigger.RESET)
        self._forget_frames()

    def _forget_frames(self) -> None:
        self._run_start: int | None = None  # first frame of a run of speech frames while idle
        self._silence_start: int | None = None  # first silent frame while speaking
        self._voiced_since: int | None = None  # first voiced frame of a run inside a pause
        self._quiet_since: int | None = None  # first frame of the pause's latest run of quiet frames
        self._last_end = 0
        self._forget_words()

    def _forget_words(self) -> None:
        self._reading: Reading | None = None  # semantic_vad: how the words before this pause read
        self._awaiting = False  # semantic_vad: a transcript of the words before this pause is on its way

    @property
    def _window(self) -> int:
        """How long this pause must last to end the turn: semantic_vad's is longer after words that may go on,
        and while they are still being transcribed (the turn's answer waits for that transcript anyway, and a
        hesitation would end the turn before words that read unfinished could hold it open)."""
        if not self.semantic:
            return self.silence_ms
        if self._reading is Reading.UNFINISHED or (self._reading is None and self._awaiting):
            return self.silence_ms * UNFINISHED_FACTOR
        if self._reading is Reading.UNSURE:
            return round(self.silence_ms * UNSURE_FACTOR)
        return self.silence_ms

    @property
    def state(self) -> TurnState:
        return self.turn.state

    @property
    def speaking(self) -> bool:
        """A turn is under way (speaking or paused)."""
        return self.turn.state is not TurnState.IDLE

    def frame(self, start_ms: int, end_ms: int, probability: float) -> list[TurnEvent]:
        """Feed one frame's speech probability; returns what it changed (each a move of :attr:`state`)."""
        events: list[TurnEvent] = []
        self._last_end = end_ms
        if self.turn.state is TurnState.IDLE:
            if probability >= self.threshold:
                if self._run_start is None:
                    self._run_start = start_ms
                if end_ms - self._run_start >= MIN_SPEECH_MS:
                    self.turn.fire(TurnTrigger.SPEECH)
                    events.append(SpeechStarted(max(0, self._run_start - self.prefix_ms)))
            else:
                self._run_start = None
            return events
        if probability >= self.threshold - HYSTERESIS:
            return self._voiced_in_pause(start_ms, end_ms)
        self._voiced_since = None
        if self._quiet_since is None:
            self._quiet_since = start_ms
        if self._silence_start is None:
            self._silence_start = start_ms
        if self.turn.state is TurnState.SPEAKING and end_ms - self._silence_start >= self.early_pause_ms:
            self.turn.fire(TurnTrigger.PAUSE)
            events.append(SilenceStarted(self._silence_start))
        return events + self._end_if_long_enough()

    def _voiced_in_pause(self, start_ms: int, end_ms: int) -> list[TurnEvent]:
        if self._silence_start is None:
            return []
        self._quiet_since = None
        if self._voiced_since is None:
            self._voiced_since = start_ms
        if end_ms - self._voiced_since < RESUME_MS and end_ms - self._silence_start >= self.early_pause_ms:
            return []  # a blip in a pause: the pause goes on
        resumed: list[TurnEvent] = []
        if self.turn.state is TurnState.PAUSED:
            self.turn.fire(TurnTrigger.RESUME)
            resumed.append(SpeechResumed(self._voiced_since))
        self._silence_start, self._voiced_since = None, None
        self._forget_words()
        return resumed

    def _end_if_long_enough(self) -> list[TurnEvent]:
        """The pause has lasted the window, or (after finished words) the frames since the last voiced one are
        quiet long enough: a voiced frame held as a blip inside the pause (a stop consonant's release between
        two words: "what | t | ime") restarts that count, so two short gaps do not add up to a finished turn."""
        if self._silence_start is None:
            return []
        quiet_enough = self._reading is Reading.FINISHED and self._quiet_since is not None and \
            self._last_end - self._quiet_since >= FINISHED_PAUSE_MS
        if not quiet_enough and self._last_end - self._silence_start < self._window:
            return []
        stopped = SpeechStopped(self._silence_start, self._last_end)
        self.turn.fire(TurnTrigger.END)
        self._forget_frames()
        return [stopped]

    def words_coming(self) -> None:
        """``semantic_vad``: the words before the current pause are being transcribed (an early transcript)."""
        if self._silence_start is not None:
            self._awaiting = True

    def words_so_far(self, reading: Reading | None) -> list[TurnEvent]:
        """``semantic_vad``: what the words before the current pause say about the end of the turn (None: the
        transcript held no words, so the eagerness's own window times the pause)."""
        if not self.semantic or self._silence_start is None:
            return []
        self._reading, self._awaiting = reading, False
        if self._voiced_since is not None:  # the last frame was voiced: speech may be resuming; a later quiet
            return []  # frame ends the turn once the quiet after it is long enough (or the window has passed)
        return self._end_if_long_enough()
