"""Cross-site attacks in headless Chromium (issue 21) against a server with no API keys, what ``scripts/run.sh``
runs: a page served from another origin tries the WebSocket, ``/calls`` (preflighted and as a simple form post),
the console's key endpoint and ``client_secrets``; a DNS-rebinding page (a name of its own that resolves to this
machine) tries the same as same-origin requests. Every attempt fails and nothing runs on the server, while the
console page served by the server itself still mints its key and opens a session, with no console error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web

from tests.fixtures_browser import PAGES, fake_mic_wav, launch, other_origin, run_js, wait_for
from tests.fixtures_server import Running, start_server

ATTEMPTS = ("websocket", "calls_sdp", "calls_form", "console_key", "client_secrets")
REBOUND = "rebound.test"


@pytest.fixture(scope="module")
async def open_server() -> AsyncIterator[Running]:
    running = await start_server(api_keys=frozenset())
    yield running
    await running.server.stop()


@pytest.fixture(scope="module")
async def attacker() -> AsyncIterator[str]:
    """The attacking page, on an origin of its own (another port)."""
    async def page(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(PAGES / "cross_site.html")

    async with other_origin({"/": page}) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("chromium")
    driver = launch(fake_mic_wav(folder / "mic.wav", tail_ms=500), folder / "profile", loopback_names=(REBOUND,))
    yield driver
    driver.quit()


async def attempts(browser: Any) -> dict[str, str]:
    await wait_for(browser, f"return {list(ATTEMPTS)}.every(n => n in window.attempts)", 30)
    result: dict[str, str] = await run_js(browser, "return window.attempts")
    return result


async def test_a_page_on_another_origin_drives_nothing(browser: Any, open_server: Running,
                                                       attacker: str) -> None:
    await asyncio.to_thread(browser.get, f"{attacker}?target=127.0.0.1:{open_server.server.port}")
    assert await attempts(browser) == dict.fromkeys(ATTEMPTS, "refused")
    assert open_server.assistants == [] and open_server.server.sessions.total == 0
    assert not open_server.server.calls and len(open_server.server.secrets) == 0


async def test_a_rebound_name_drives_nothing(browser: Any, open_server: Running) -> None:
    rebound = f"{REBOUND}:{open_server.server.port}"
    await asyncio.to_thread(browser.get, f"http://{rebound}/")
    assert "host_not_allowed" in await run_js(browser, "return document.body.innerText")
    script = (await asyncio.to_thread((PAGES / "cross_site.html").read_text)).split("<script>")[1].split("</script>")[0]
    await run_js(browser, script.replace('new URLSearchParams(location.search).get("target")', f'"{rebound}"'))
    found = await attempts(browser)
    assert found["websocket"] == "refused"
    for name in ATTEMPTS[1:]:  # same-origin now, so the page may read the refusal
        assert found[name].startswith("answered 421"), found
    assert open_server.assistants == [] and open_server.server.sessions.total == 0
    assert len(open_server.server.secrets) == 0


async def test_the_console_served_here_still_works(browser: Any, open_server: Running) -> None:
    browser.get_log("browser")  # what earlier pages logged
    await asyncio.to_thread(browser.get, f"http://127.0.0.1:{open_server.server.port}/")
    first = await run_js(browser, """
        return (async () => {
          const reply = await fetch("/console/client_secret", { method: "POST", body: "{}",
                                                              headers: { "Content-Type": "application/json" } });
          const key = (await reply.json()).value;
          const ws = new WebSocket(`ws://${location.host}/v1/realtime?model=gpt-realtime`,
                                   ["realtime", "openai-insecure-api-key." + key]);
          return await new Promise((resolve) => { ws.onmessage = (m) => { resolve(JSON.parse(m.data).type);
                                                                          ws.close(); };
                                                  ws.onerror = () => resolve("refused"); });
        })();""")
    assert first == "session.created"
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
