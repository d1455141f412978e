"""OpenAI's beta-era WebRTC guide, followed as written, in headless Chromium (what ``openai-realtime-console`` and
``openai-realtime-agents`` do): the page's own backend mints a key with ``POST /v1/realtime/sessions`` (a beta
session body, the operator's key kept server-side), the page posts its offer to ``POST /v1/realtime?model=`` of our
server (another origin), and the fake microphone's "what time is it" is answered by the date-time skill, heard on
the audio track, with the beta dialect's events on ``oai-events`` and no ``error``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.fixtures_browser import PAGES, console_log, other_origin, run_js, wait_for
from tests.fixtures_ovos import TIME_LIKE
from tests.fixtures_server import API_KEY, Served
from tests.voice_helpers import words

AUDIBLE_RMS = 0.02


@pytest.fixture(scope="module")
def browser(browser_for: Callable[..., Any]) -> Any:
    return browser_for((1500, "what time is it"))


@pytest.fixture(scope="module")
async def guide_app(voice_ovos: Served) -> AsyncIterator[str]:
    """The guide's page and its backend (``GET /session``), on an origin of their own."""
    async def page(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(PAGES / "beta_webrtc_guide.html")

    async def session(_request: web.Request) -> web.Response:
        async with aiohttp.ClientSession() as client, client.post(
                f"{voice_ovos.http}/realtime/sessions", headers={"Authorization": f"Bearer {API_KEY}"},
                json={"model": "gpt-4o-realtime-preview-2024-12-17", "voice": "verse",
                      "input_audio_transcription": {"model": "whisper-1"}}) as minted:
            return web.Response(status=minted.status, body=await minted.read(), content_type="application/json")

    async with other_origin({"/": page, "/session": session}) as url:
        yield url


async def test_the_beta_guides_page_gets_a_spoken_answer(browser: Any, guide_app: str, voice_ovos: Served) -> None:
    await asyncio.to_thread(browser.get, guide_app)
    await run_js(browser, "window.init(arguments[0])", f"http://127.0.0.1:{voice_ovos.server.port}/v1/realtime")
    try:
        await wait_for(browser, "const g = window.guide; return g.transcripts.length > 0 || g.errors.length > 0", 90)
        await wait_for(browser, f"return window.guide.maxRms > {AUDIBLE_RMS} || window.guide.errors.length > 0", 20)
    except Exception as exc:
        raise AssertionError(f"{await run_js(browser, 'return window.guide')}\n{console_log(browser)}") from exc
    guide: dict[str, Any] = await run_js(browser, "const g = window.guide; window.pc.close(); return g")
    assert guide["errors"] == [] and guide["connected"], guide
    assert "session.created" in guide["events"] and "response.audio_transcript.delta" in guide["events"]
    assert "response.output_audio_transcript.delta" not in guide["events"]  # the beta dialect's names
    assert words(guide["heard"]) == ["what", "time", "is", "it"], guide
    assert TIME_LIKE.search(guide["transcripts"][0]), guide["transcripts"]
    assert guide["maxRms"] > AUDIBLE_RMS
