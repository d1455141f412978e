"""Headless Chromium (Debian's, driven by its own chromedriver) with a fake microphone playing espeak-ng speech.

Nothing it does may leave loopback: the suite runs in a network namespace that fails the whole run on any
connection attempt beyond it (``scripts/offline.sh``), so every background service Chromium has is switched
off, its resolver answers nothing but loopback, and each browser gets a fresh profile. ``launch`` starts one;
a test module keeps one browser (module-scoped fixture) since a start costs about a second.
"""

from __future__ import annotations

import asyncio
import os
import wave
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from ovos_realtime_plugin.bus.assistant import OvosAssistantSettings, assistant_factory
from ovos_realtime_plugin.bus.client import BusConnection
from ovos_realtime_plugin.engines.speech import LoadedSpeech
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings
from ovos_realtime_plugin.server.webrtc.settings import WebRTCSettings
from tests.fixtures_ovos import OvosStack
from tests.fixtures_server import API_KEY, Served
from tests.fixtures_speech import silence, spoken

CHROMIUM = Path("/usr/lib/chromium/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
MIC_RATE = 48000
PAGES = Path(__file__).parent / "browser_pages"
SDK_BUNDLE = Path(os.environ.get("OVOS_REALTIME_TEST_CACHE", Path.home() / ".cache/ovos-realtime-tests"),
                  "browser", "agents-realtime-0.20.0.js")

MEDIA_FLAGS = ["--headless=new", "--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
               "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required"]
OFFLINE_FLAGS = ["--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--disable-default-apps", "--disable-domain-reliability", "--no-pings",
                 "--disable-client-side-phishing-detection", "--no-default-browser-check", "--disable-breakpad",
                 "--disable-extensions", "--metrics-recording-only", "--safebrowsing-disable-auto-update",
                 "--password-store=basic", "--disable-features=MediaRouter,OptimizationHints,Translate,"
                 "AutofillServerCommunication,CertificateTransparencyComponentUpdater,DialMediaRouteProvider,"
                 "NetworkTimeServiceQuerying",
                 # every host name to a closed loopback port, so what still phones home (the component updater
                 # does) makes no DNS query; Chromium's route probes remain (scripts/offline.sh explains them)
                 "--host-resolver-rules=MAP * 127.0.0.1:9, EXCLUDE 127.0.0.1"]


def fake_mic_wav(path: Path, *phrases: tuple[int, str], tail_ms: int = 12000) -> Path:
    """A WAV for ``--use-file-for-fake-audio-capture``: each phrase after its lead silence (ms), then a
    long silence (Chromium loops the file: the tail keeps the next loop from talking over the answer)."""
    pcm = b"".join(silence(lead, MIC_RATE) + spoken(text, MIC_RATE) for lead, text in phrases)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(MIC_RATE)
        out.writeframes(pcm + silence(tail_ms, MIC_RATE))
    return path


def launch(mic: Path, profile: Path, loopback_names: tuple[str, ...] = ()) -> Any:
    """A headless Chromium whose microphone plays ``mic``, and that resolves ``loopback_names`` to 127.0.0.1 (a
    name that rebinds to this machine); skips the test when Chromium is not installed."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(f"headless Chromium missing ({CHROMIUM}, {CHROMEDRIVER}): scripts/setup.sh test installs it")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    flags = [*MEDIA_FLAGS, *OFFLINE_FLAGS]
    if loopback_names:
        rules = ", ".join(f"MAP {name} 127.0.0.1" for name in loopback_names)
        flags = [f.replace("--host-resolver-rules=", f"--host-resolver-rules={rules}, ") for f in flags]
    for flag in [*flags, f"--use-file-for-fake-audio-capture={mic}", f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))


@pytest.fixture(scope="module")
def browser_for(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Any]]:
    """``browser_for((lead_ms, text), ...)``: a browser whose fake mic says those phrases (closed after the module)."""
    started: list[Any] = []

    def start(*phrases: tuple[int, str]) -> Any:
        folder = tmp_path_factory.mktemp("chromium")
        driver = launch(fake_mic_wav(folder / "mic.wav", *phrases), folder / "profile")
        started.append(driver)
        return driver

    yield start
    for driver in started:
        driver.quit()


async def wait_for(driver: Any, script: str, timeout_s: float = 60) -> Any:
    """Waits (off the event loop, which serves the page) until ``script`` returns something truthy; returns it."""
    from selenium.webdriver.support.ui import WebDriverWait

    def until() -> Any:
        return WebDriverWait(driver, timeout_s, poll_frequency=0.1).until(lambda d: d.execute_script(script))

    return await asyncio.to_thread(until)


async def run_js(driver: Any, script: str, *args: Any) -> Any:
    return await asyncio.to_thread(driver.execute_script, script, *args)


def console_log(driver: Any) -> str:
    """The page's console messages (for an assertion's message)."""
    return "\n".join(entry["message"] for entry in driver.get_log("browser"))


@pytest.fixture(scope="module")
async def voice_ovos(ovos_stack: OvosStack, speech: LoadedSpeech) -> AsyncIterator[Served]:
    """The server as the daemon runs it: the real speech engines, the real OVOS skills answering; WebRTC offers
    a loopback host candidate (the suite's network namespace has nothing else)."""
    bus = BusConnection(port=ovos_stack.port, source="ovos-realtime-browser")
    await bus.connect()
    settings = ServerSettings(port=0, api_keys=frozenset({API_KEY}), webrtc=WebRTCSettings(("127.0.0.1",)))
    server = RealtimeServer(settings, assistant_factory(bus, OvosAssistantSettings()), speech=speech.engines)
    await server.start()
    yield Served(server)
    await server.stop()
    await bus.close()


@pytest.fixture(scope="module")
def sdk_bundle() -> Path:
    if not SDK_BUNDLE.exists():
        pytest.skip(f"{SDK_BUNDLE} missing: scripts/setup_browser.sh builds it")
    return SDK_BUNDLE


@asynccontextmanager
async def other_origin(routes: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]]) -> AsyncIterator[str]:
    """Pages (``GET path`` → handler) served from an origin of their own (another port of loopback): its URL."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    finally:
        await runner.cleanup()


@pytest.fixture(scope="module")
async def sdk_page(sdk_bundle: Path) -> AsyncIterator[str]:
    """The SDK's test page (tests/browser_pages) and the bundle, served from an origin of their own (as an app's
    would be)."""

    async def page(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(PAGES / "agents_sdk.html")

    async def bundle(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(sdk_bundle)

    async with other_origin({"/": page, "/agents-realtime.js": bundle}) as url:
        yield url
