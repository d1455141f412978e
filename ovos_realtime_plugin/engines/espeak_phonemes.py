"""piper's phonemes from one long-lived ``espeak-ng`` program per language instead of one program per clause.

The OVOS piper plugin phonemizes each clause by running ``espeak-ng -q -x --ipa -v <lang>`` with the clause on
its stdin: ~19 ms a clause here, nearly all of it the program starting and loading its voice. Given no text
argument, the same program reads stdin a line at a time, answers each line at once (it flushes after every
line) and waits for the next: ~2 ms a clause. Each clause is written as its line(s) followed by a marker line
whose phonemes were learnt when the program started (two markers, taken in turn: reading the other one, or
anything after it, means the answers are out of step, and the program is replaced); what comes before the
marker's phonemes is the clause's, exactly what the one-shot program prints (tests compare the two on many
texts). Two kinds of clause go to the one-shot program: one holding a marker word, and one whose last line has no
letter or digit (the one-shot program reads a lone "!" at the very end of its input aloud, "exclamation";
followed by a newline it does not).

It stays a separate process. espeak-ng has had memory-safety bugs (one crashed inside ``espeak_Synth`` when we
tried the library in-process): a crash here fails only the clause being phonemized, with the plugin's own
``EspeakError`` (so that sentence fails and its response goes on), and the next clause starts a new program.
A program that does not answer within :data:`TIMEOUT_S` is killed the same way.
"""

from __future__ import annotations

import logging
import os
import re
import select
import subprocess
import threading
from collections import OrderedDict

log = logging.getLogger(__name__)

MARKERS = ("zqxjv", "vxjqz")  # words no sentence says; their phonemes end the answers, in turn
TIMEOUT_S = 10.0
MAX_PROGRAMS = 4  # languages with a program running; the least recently used one stops beyond that
_LETTERS = re.compile(r"[^a-z]")


class PhonemizerStopped(RuntimeError):
    """The program died or hung on a clause (that clause fails; the next starts a new program)."""


class EspeakProgram:
    """One running ``espeak-ng -q -x --ipa -v <voice>``, asked one clause at a time (thread-safe)."""

    def __init__(self, voice: str, program: str = "espeak-ng") -> None:
        self.command = [program, "-q", "-x", "--ipa", "-v", voice]
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._markers: list[str] = []  # what the program says for each marker word
        self._turn = 0
        self._closed = False

    def phonemes(self, text: str) -> str:
        """What ``espeak-ng`` prints for ``text`` on its stdin, stripped (as the plugin reads it)."""
        if not self._lock.acquire(timeout=TIMEOUT_S * 2):  # another thread's clause is stuck (then killed)
            raise PhonemizerStopped(f"espeak-ng busy for {TIMEOUT_S * 2:g} s")
        try:
            if self._closed:
                raise PhonemizerStopped("espeak-ng was stopped")
            if self._proc is None:
                self._start()
            return "\n".join(self._ask(text.encode("utf-8", "replace") + b"\n")).strip()
        except BaseException:
            self._stop()
            raise
        finally:
            self._lock.release()

    def close(self) -> None:
        """Stop the program for good (a later clause is refused rather than starting another)."""
        with self._lock:
            self._closed = True
            self._stop()

    def _start(self) -> None:
        self._proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL)
        self._buffer = b""
        self._markers = []
        for marker in MARKERS:
            self._write(marker.encode() + b"\n")
            self._markers.append(self._line())
        if len(set(self._markers)) != len(MARKERS):
            raise PhonemizerStopped(f"espeak-ng says the same for {' and '.join(MARKERS)}")
        log.debug("%s started (pid %d)", " ".join(self.command), self._proc.pid)

    def _ask(self, text: bytes) -> list[str]:
        self._turn = (self._turn + 1) % len(MARKERS)
        marker, other = self._markers[self._turn], self._markers[self._turn - 1]
        self._write(text + MARKERS[self._turn].encode() + b"\n")
        lines: list[str] = []
        while (line := self._line()) != marker:
            if line == other:
                raise PhonemizerStopped("espeak-ng's answers are out of step")
            lines.append(line)
        if self._buffer or self._readable(0):
            raise PhonemizerStopped("espeak-ng said more than it was asked")
        return lines

    def _write(self, data: bytes) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(data)
            self._proc.stdin.flush()
        except OSError as exc:
            raise PhonemizerStopped(f"espeak-ng stopped: {self._exit()}") from exc

    def _line(self) -> str:
        """The next line of output, within :data:`TIMEOUT_S`."""
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buffer:
            if not self._readable(TIMEOUT_S):
                raise PhonemizerStopped(f"espeak-ng gave no answer within {TIMEOUT_S:g} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise PhonemizerStopped(f"espeak-ng stopped: {self._exit()}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode("utf-8", "replace")

    def _readable(self, timeout_s: float) -> bool:
        assert self._proc is not None and self._proc.stdout is not None
        poller = select.poll()  # not select(): it fails on descriptors past 1024
        poller.register(self._proc.stdout.fileno(), select.POLLIN)
        return bool(poller.poll(timeout_s * 1000))

    def _exit(self) -> str:
        assert self._proc is not None
        try:
            code = self._proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return "still running"
        return f"killed by signal {-code}" if code < 0 else f"exit status {code}"

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()


class EspeakPrograms:
    """A program per voice, the least recently used stopped beyond :data:`MAX_PROGRAMS`."""

    def __init__(self, program: str = "espeak-ng") -> None:
        self.program = program
        self._programs: OrderedDict[str, EspeakProgram] = OrderedDict()
        self._lock = threading.Lock()

    def phonemes(self, text: str, voice: str) -> str:
        with self._lock:
            program = self._programs.get(voice)
            if program is None:
                program = self._programs[voice] = EspeakProgram(voice, self.program)
            self._programs.move_to_end(voice)
            retired = [self._programs.popitem(last=False)[1] for _ in range(len(self._programs) - MAX_PROGRAMS)]
        for old in retired:
            old.close()
        return program.phonemes(text)

    def close(self) -> None:
        with self._lock:
            programs, self._programs = list(self._programs.values()), OrderedDict()
        for program in programs:
            program.close()


PROGRAMS = EspeakPrograms()


def needs_one_shot(text: str) -> bool:
    """Text the long-lived program would not answer exactly as the one-shot program does (see above)."""
    letters, last_line = _LETTERS.sub("", text.lower()), text.rsplit("\n", 1)[-1]
    return any(marker in letters for marker in MARKERS) or not any(c.isalnum() for c in last_line)
