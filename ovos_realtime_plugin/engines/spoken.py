"""Sentences spoken once, heard by everyone who asks for them.

A household asks the same things: several people at once asking the time get the same sentence, and skills repeat
their lines ("Okay.", "Timer set.", the line for words nothing understood). Synthesis is the largest engine cost of
an answer, so a sentence is made once: a request for one already being made follows it piece by piece as it is made
(it does not wait for the whole), and a finished one is kept, by what it sounds like (words, voice, speed,
language), in a store bounded in bytes that drops the least recently heard first.

Only what the engine finished is kept: a sentence that failed is not, and its listeners get its failure (the
engine's own timeout included). A sentence stops being made only when no one listens to it any more.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from ovos_realtime_plugin.server.speech_engines import Synthesizer

SpeechKey = tuple[str, str, float, str]
"""Words, voice, speed, language: what a sentence sounds like."""


@dataclass
class _Listener:
    on_audio: Callable[[bytes, int], bool]
    done: asyncio.Future[None]
    """Resolved when it has every piece, stopped them, or raised; failed with the engine's failure."""

    def hand(self, pcm: bytes, rate: int) -> bool:
        """Give it a piece; ``False`` once it wants no more (it stopped, raised, or went away)."""
        if self.done.done():
            return False
        try:
            wanted = self.on_audio(pcm, rate)
        except Exception as exc:  # its own failure, raised where it waits
            self.done.set_exception(exc)
            return False
        if not wanted:
            self.done.set_result(None)
        return wanted


@dataclass
class _Making:
    """A sentence under way: its pieces so far, handed to each listener as they come."""

    pieces: list[tuple[bytes, int]] = field(default_factory=list)
    listeners: list[_Listener] = field(default_factory=list)
    stopped: bool = False
    """No one listened when a piece came, so the engine was told to stop: it will not be complete."""
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.get_running_loop)
    """Where it is made: a sentence under way in a loop that has stopped will never end."""

    def join(self, on_audio: Callable[[bytes, int], bool]) -> asyncio.Future[None]:
        """``on_audio`` hears the pieces made so far at once, then each as it comes."""
        listener = _Listener(on_audio, asyncio.get_running_loop().create_future())
        if all(listener.hand(pcm, rate) for pcm, rate in self.pieces):
            self.listeners.append(listener)
        return listener.done

    def add(self, pcm: bytes, rate: int) -> bool:
        self.pieces.append((pcm, rate))
        self.listeners = [listener for listener in self.listeners if listener.hand(pcm, rate)]
        self.stopped = not self.listeners
        return not self.stopped

    def end(self, error: BaseException | None) -> None:
        for listener in self.listeners:
            if listener.done.done():
                continue
            if error is None:
                listener.done.set_result(None)
            elif isinstance(error, asyncio.CancelledError):  # shut down: its listeners are cancelled too
                listener.done.cancel()
            else:
                listener.done.set_exception(error)
        self.listeners = []


class SpokenSentences:
    """A :class:`~ovos_realtime_plugin.server.speech_engines.Synthesizer` that makes each sentence once."""

    makes_each_sentence_once = True
    """(:class:`~ovos_realtime_plugin.server.speech_engines.SharedSentences`)"""

    def __init__(self, engine: Synthesizer, max_bytes: int) -> None:
        self.engine = engine
        self.max_bytes = max_bytes
        self._kept: OrderedDict[SpeechKey, list[tuple[bytes, int]]] = OrderedDict()
        self._kept_bytes = 0
        self._making: dict[SpeechKey, _Making] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.made = 0
        """Sentences the engine was asked for (the rest were heard from one already made or under way)."""

    @property
    def module(self) -> str:
        """The plugin that makes the sentences (``/healthz``)."""
        return str(getattr(self.engine, "module", type(self.engine).__name__))

    async def synthesize(self, text: str, voice: str | None, speed: float, lang: str) -> tuple[bytes, int]:
        pieces: list[tuple[bytes, int]] = []

        def take(pcm: bytes, rate: int) -> bool:
            pieces.append((pcm, rate))
            return True

        await self.stream(text, voice, speed, lang, take)
        rates = {rate for _, rate in pieces}
        if len(rates) != 1:
            raise RuntimeError(f"the TTS engine gave {len(pieces)} piece(s) at rates {sorted(rates)}")
        return b"".join(pcm for pcm, _ in pieces), rates.pop()

    async def stream(self, text: str, voice: str | None, speed: float, lang: str,
                     on_audio: Callable[[bytes, int], bool]) -> None:
        key: SpeechKey = (text, voice or "", speed, lang)
        kept = self._kept.get(key)
        if kept is not None:
            self._kept.move_to_end(key)
            for pcm, rate in kept:
                if not on_audio(pcm, rate):
                    return
            return
        making = self._making.get(key)
        if making is None or making.stopped or making.loop is not asyncio.get_running_loop():
            making = self._start(key, text, voice, speed, lang)  # afresh: no one listened to it any more
        await making.join(on_audio)

    def _start(self, key: SpeechKey, text: str, voice: str | None, speed: float, lang: str) -> _Making:
        """Ask the engine for the sentence; it is made for as long as anyone listens, whoever asked first."""
        making = self._making[key] = _Making()
        self.made += 1

        async def make() -> None:
            try:
                await self.engine.stream(text, voice, speed, lang, making.add)
            except BaseException as exc:  # every listener gets it: a failure, a timeout, a cancellation at close
                making.end(exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                making.end(None)
                if not making.stopped and making.pieces:
                    self._keep(key, making.pieces)
            finally:
                if self._making.get(key) is making:
                    del self._making[key]

        task = asyncio.ensure_future(make())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return making

    def _keep(self, key: SpeechKey, pieces: list[tuple[bytes, int]]) -> None:
        size = sum(len(pcm) for pcm, _ in pieces)
        if size > self.max_bytes:
            return
        self._kept[key] = pieces
        self._kept_bytes += size
        while self._kept_bytes > self.max_bytes:
            _, dropped = self._kept.popitem(last=False)
            self._kept_bytes -= sum(len(pcm) for pcm, _ in dropped)

    def close(self) -> None:
        """Stop what is being made (at shut-down, once the sessions are closed)."""
        for task in self._tasks:
            if not task.get_loop().is_closed():
                task.cancel()
