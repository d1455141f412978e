"""Several remote STT servers behind one ``Transcriber``: turns spread across them, and a server that is down or
too slow is passed over.

OVOS's client plugin ``ovos-stt-plugin-server`` takes a list of servers (``"url": [...]``) and tries them in order
for every call: the first takes every turn while it answers (fail-over, no spreading), and since a daemon makes
one STT call at a time per engine, a second server would never work while the first does. So a list of several
servers is loaded as one plugin per server, each on its own engine thread (:class:`TranscriberPool`):

- a turn goes to the server with the fewest calls waiting or running, in turn among equals;
- a server whose call fails (refused, an error, no answer within the plugin's ``"timeout"``, or the engine's)
  is passed over for :data:`DOWN_FOR_S` and the turn is tried on the next server; once every server has failed
  it, the turn fails with the last error (``transcription_failed``);
- a server whose queue is full (its calls waited past ``max_queue_wait_s``) is not marked down: the turn moves on.

``"realtime": {"engines": {"spread_stt_servers": false}}`` keeps the plugin's own order (a primary and backups).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from ovos_realtime_plugin.core.stt import SttRequest, SttResult
from ovos_realtime_plugin.engines.choice import EngineChoice
from ovos_realtime_plugin.engines.stt import PluginTranscriber
from ovos_realtime_plugin.engines.worker import EngineBusy

log = logging.getLogger(__name__)
SERVER_PLUGIN = "ovos-stt-plugin-server"
DOWN_FOR_S = 30.0
"""How long a server that failed a call is passed over (then a turn tries it again)."""


def server_urls(choice: EngineChoice) -> list[str]:
    """The servers an ``ovos-stt-plugin-server`` choice names (as the plugin reads them); none for other plugins."""
    if choice.module != SERVER_PLUGIN:
        return []
    urls = choice.config.get("url", choice.config.get("urls"))
    if not urls:
        return []
    return [str(url) for url in urls] if isinstance(urls, list) else [str(urls)]


def per_server(choice: EngineChoice) -> list[EngineChoice]:
    """One choice per server when ``choice`` names several, else none."""
    urls = server_urls(choice)
    if len(urls) < 2:
        return []
    config = {k: v for k, v in choice.config.items() if k != "urls"}
    return [replace(choice, config={**config, "url": [url]}) for url in urls]


class TranscriberPool:
    """Transcribers of the same model on different servers, used as one."""

    def __init__(self, members: list[PluginTranscriber], names: list[str],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.members = members
        self.names = names
        self.module = members[0].module
        self._clock = clock
        self._busy = [0] * len(members)  # calls waiting or running on each
        self._down_until = [0.0] * len(members)
        self._rotation = itertools.count()

    @classmethod
    def load(cls, choices: list[EngineChoice], language: str) -> TranscriberPool:
        return cls([PluginTranscriber.load(choice, language) for choice in choices],
                   [", ".join(server_urls(choice)) for choice in choices])

    @property
    def timeout_s(self) -> float:
        return self.members[0].timeout_s

    @timeout_s.setter
    def timeout_s(self, seconds: float) -> None:
        for member in self.members:
            member.timeout_s = seconds

    def bound_queue(self, max_wait_s: float | None) -> None:
        for member in self.members:
            member.bound_queue(max_wait_s)

    def order(self) -> list[int]:
        """The members to try, best first: those up before those down; among them the least busy, then in turn
        (the rotation spreads equal ones); the members down, the one whose failure is oldest first."""
        now, start, n = self._clock(), next(self._rotation), len(self.members)
        rotated = [(start + k) % n for k in range(n)]
        up = sorted((i for i in rotated if self._down_until[i] <= now), key=lambda i: self._busy[i])
        down = sorted((i for i in rotated if self._down_until[i] > now), key=lambda i: self._down_until[i])
        return up + down

    async def hear(self, pcm16: bytes, rate: int, request: SttRequest) -> SttResult:
        failure: Exception | None = None
        for index in self.order():
            self._busy[index] += 1
            try:
                return await self.members[index].hear(pcm16, rate, request)
            except EngineBusy as exc:  # its queue is full, it is not down
                failure = exc
            except Exception as exc:
                failure = exc
                self._down_until[index] = self._clock() + DOWN_FOR_S
                log.warning("STT server %s failed (passed over for %g s): %s", self.names[index], DOWN_FOR_S,
                            str(exc) or type(exc).__name__)
            finally:
                self._busy[index] -= 1
        assert failure is not None  # there is at least one member
        raise failure

    async def transcribe(self, pcm16: bytes, rate: int, lang: str) -> str:
        return (await self.hear(pcm16, rate, SttRequest(lang))).text

    def warm(self, language: str) -> None:
        """Warm every server; one that does not answer is passed over until it does (the daemon starts unless
        none answers)."""
        answered = 0
        for index, member in enumerate(self.members):
            try:
                member.warm(language)
                answered += 1
            except Exception as exc:
                self._down_until[index] = self._clock() + DOWN_FOR_S
                log.warning("STT server %s did not answer at start-up: %s", self.names[index], exc)
        if not answered:
            raise RuntimeError(f"none of the STT servers answered: {', '.join(self.names)}")

    def close(self) -> None:
        for member in self.members:
            member.close()
