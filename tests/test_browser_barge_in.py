"""Barge-in over WebRTC, in headless Chromium with the stock ``@openai/agents-realtime``: the page asks for a long
story (a function tool whose output the server speaks, ~20 s); the fake microphone starts talking a few seconds
later, during the answer. The server clears the audio buffer (``output_audio_buffer.cleared``) and the answer's
audio on the page's track stops — long before the story would have ended."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures_browser import run_js, wait_for
from tests.fixtures_server import Served
from tests.test_browser_agents_sdk import connect, page_state

AUDIBLE = 0.02


@pytest.fixture(scope="module")
def browser(browser_for: Callable[..., Any]) -> Any:
    """Silence while the story starts, then the listener talks (and talks again, in case one is missed)."""
    return browser_for((7000, "wait, stop please"), (2500, "no, stop the story"), (2500, "stop"))


async def test_speaking_during_an_answer_stops_it(browser: Any, sdk_page: str, voice_ovos: Served) -> None:
    await connect(browser, sdk_page, voice_ovos, "webrtc")
    await run_js(browser, "window.meterAnswer(); window.agentPage.session.sendMessage('tell me a story')")
    await wait_for(browser, f"return window.agentPage.loudest > {AUDIBLE}", 30)
    await wait_for(browser, "return window.agentPage.events.includes('output_audio_buffer.cleared')", 30)
    # the story had ~15 s left; the track goes quiet at once (silence frames between answers)
    await wait_for(browser, "return window.quietFor(1000)", 5)
    state = await page_state(browser)
    events = state["events"]
    assert not state["errors"], state["errors"]
    assert events.index("input_audio_buffer.speech_started") < events.index("output_audio_buffer.cleared"), events
    started = events.index("output_audio_buffer.started")
    assert "output_audio_buffer.stopped" not in events[started:events.index("output_audio_buffer.cleared")], events
