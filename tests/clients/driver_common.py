"""What both client drivers share (run in ``.venv-clients`` by tests/test_third_party_clients.py, next to them on
``sys.path``): the listener's view of one answer, the story and timer the scenarios use, and running a driver."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

RATE = 24000
CHUNK = RATE * 2 // 10  # 100 ms of PCM16
WAIT_S = 60.0
STORY = ("Once upon a time a small red fox lived at the edge of a very large forest. Every morning the fox ran down "
         "to the river to drink, and every evening it climbed the hill to watch the sun go down behind the "
         "mountains. One day the fox met an old grey owl who knew every path in the forest, and the two of them set "
         "out together to find the lake that nobody had ever seen.")
TIMER_DESCRIPTION = "Set a kitchen timer. Examples: set a timer for {minutes} minutes; start a {minutes} minute timer"
STORY_DESCRIPTION = "Tell a long story. Examples: tell me a story"


class Answer:
    """One answer as the listener gets it: its audio, its transcript, and a playback clock."""

    def __init__(self, message_id: str = "") -> None:
        self.message_id = message_id
        self.audio = bytearray()
        self.text: list[str] = []
        self.started: float | None = None  # when its first audio arrived: playback starts then
        self.ended = False
        self.interrupted_at_ms: int | None = None

    def audio_ms(self) -> int:
        return len(self.audio) * 1000 // 2 // RATE

    def heard_ms(self) -> int:
        """How much a listener has heard: real time since playback began, up to the audio received (and no
        more once interrupted: the player stops)."""
        if self.started is None:
            return 0
        if self.interrupted_at_ms is not None:
            return self.interrupted_at_ms
        return min(int((time.monotonic() - self.started) * 1000), self.audio_ms())

    def playing(self) -> bool:
        return self.started is not None and self.interrupted_at_ms is None and self.heard_ms() < self.audio_ms()

    def report(self) -> dict[str, Any]:
        return {"text": "".join(self.text), "audio_ms": self.audio_ms(), "interrupted_at_ms": self.interrupted_at_ms}


Main = Callable[[dict[str, Any], dict[str, bytes]], Awaitable[tuple[dict[str, Any], list[bytes]]]]


def run(main: Main, config: dict[str, Any]) -> None:
    """Runs a driver's scenario; the answers' audio goes to ``out/answer<i>.pcm``, the report to stdout."""
    audio = {name: Path(path).read_bytes() for name, path in config.get("audio", {}).items()}
    report, answers = asyncio.run(main(config, audio))
    for i, pcm in enumerate(answers):
        (Path(config["out"]) / f"answer{i}.pcm").write_bytes(pcm)
    print(json.dumps(report))
