"""The voice console in headless Chromium, its fake microphone saying "what time is it": the page shows both
sides of the turn — the user's words and the date-time skill's answer — and plays the answer aloud (its level
measured with WebAudio in the page). Real speech engines, real OVOS skills, one browser for the module."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures_browser import console_log, run_js, wait_for
from tests.fixtures_ovos import TIME_LIKE
from tests.fixtures_server import Served
from tests.voice_helpers import words

AUDIBLE_RMS = 0.02  # the loudest 50 ms of a spoken answer; silence and comfort noise stay below 0.005


@pytest.fixture(scope="module")
def browser(browser_for: Callable[..., Any]) -> Any:
    return browser_for((1500, "what time is it"))


async def talk(browser: Any, served: Served, transport: str) -> dict[str, Any]:
    """Open the console with ``transport``, press the mic button, wait for the answer; the page's state."""
    await asyncio.to_thread(browser.get, f"http://127.0.0.1:{served.server.port}/?transport={transport}")
    await asyncio.to_thread(lambda: browser.find_element("id", "mic").click())
    try:
        await wait_for(browser, "return window.ovosConsole.state.assistant.length > 0")
        await wait_for(browser, f"return window.ovosConsole.state.maxRms > {AUDIBLE_RMS}", 20)
    except Exception as exc:
        state = await run_js(browser, "return window.ovosConsole.state")
        raise AssertionError(f"{state}\n{console_log(browser)}") from exc
    state: dict[str, Any] = await run_js(browser, "const s = window.ovosConsole.state; window.ovosConsole.hangUp(); "
                                                  "return s")
    return state


def shown(browser: Any, role: str) -> list[str]:
    return [li.text for li in browser.find_elements("css selector", f'#transcript li[data-role="{role}"]')]


@pytest.mark.parametrize("transport", ["websocket", "webrtc"])
async def test_the_console_answers_a_spoken_question(browser: Any, voice_ovos: Served, transport: str) -> None:
    state = await talk(browser, voice_ovos, transport)
    assert words(state["user"][0]) == ["what", "time", "is", "it"], state["user"]
    assert TIME_LIKE.search(state["assistant"][0]), state["assistant"]
    assert state["maxRms"] > AUDIBLE_RMS
    assert shown(browser, "user")[0] == state["user"][0]
    assert shown(browser, "assistant")[0] == state["assistant"][0]
    assert "session.updated" in state["events"] and "error" not in state["events"], state["events"]
