"""OpenAI's stock browser SDK, ``@openai/agents-realtime`` (bundled once by ``scripts/setup_browser.sh``), in a page
of another origin, with an ``ek_`` key minted through our ``client_secrets`` by the real ``openai`` SDK: over WebRTC
(``url`` at our ``/v1/realtime/calls``; the SDK captures the fake mic itself) and over WebSocket (the page sends
the audio): ``session.updated``, a spoken turn answered by the date-time skill, and a function tool round trip —
the tool's description examples match "set a timer for five minutes", the SDK runs it, the server speaks its output."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import Any

import pytest
from openai import AsyncOpenAI

from tests.fixtures_browser import run_js, wait_for
from tests.fixtures_ovos import TIME_LIKE
from tests.fixtures_server import API_KEY, Served
from tests.fixtures_speech import silence, spoken
from tests.voice_helpers import words


@pytest.fixture(scope="module")
def browser(browser_for: Callable[..., Any]) -> Any:
    return browser_for((1500, "what time is it"))


async def ephemeral_key(served: Served) -> str:
    client = AsyncOpenAI(api_key=API_KEY, base_url=served.http, max_retries=0)
    secret = await client.realtime.client_secrets.create(session={"type": "realtime", "model": "gpt-realtime"})
    return secret.value


async def connect(browser: Any, page: str, served: Served, transport: str) -> None:
    port = served.server.port
    url = (f"http://127.0.0.1:{port}/v1/realtime/calls" if transport == "webrtc"
           else f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime")
    await asyncio.to_thread(browser.get, page)
    await run_js(browser, "window.start(arguments[0])",
                 {"transport": transport, "url": url, "key": await ephemeral_key(served)})
    await wait_for(browser, "const p = window.agentPage; return p.connected || p.errors.length > 0", 20)


async def page_state(browser: Any) -> dict[str, Any]:
    state: dict[str, Any] = await run_js(browser, "const p = window.agentPage; return {events: p.events, "
                                                  "toolCalls: p.toolCalls, transcripts: p.transcripts, "
                                                  "errors: p.errors, heard: p.heard, connected: p.connected}")
    return state


async def spoken_turn_then_tool(browser: Any) -> dict[str, Any]:
    await wait_for(browser, "return window.agentPage.transcripts.length >= 1", 60)
    await run_js(browser, "window.agentPage.session.sendMessage('set a timer for five minutes')")
    await wait_for(browser, "return window.agentPage.transcripts.length >= 2", 60)
    return await page_state(browser)


def check(state: dict[str, Any]) -> None:
    assert state["connected"] and not state["errors"], state
    assert "session.updated" in state["events"], state["events"]
    assert words(state["heard"]) == ["what", "time", "is", "it"], state["heard"]
    assert TIME_LIKE.search(state["transcripts"][0]), state["transcripts"]
    assert state["toolCalls"] == [5], state
    assert "timer is set for 5 minutes" in state["transcripts"][1].lower(), state["transcripts"]


async def test_the_sdk_over_webrtc(browser: Any, sdk_page: str, voice_ovos: Served) -> None:
    await connect(browser, sdk_page, voice_ovos, "webrtc")
    check(await spoken_turn_then_tool(browser))


async def test_the_sdk_over_websocket(browser: Any, sdk_page: str, voice_ovos: Served) -> None:
    await connect(browser, sdk_page, voice_ovos, "websocket")
    audio = silence(300) + spoken("what time is it") + silence(1200)
    await run_js(browser, "window.sendPcm(arguments[0])", base64.b64encode(audio).decode())
    check(await spoken_turn_then_tool(browser))
