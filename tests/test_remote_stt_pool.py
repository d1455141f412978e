"""One server with two remote STT servers (OVOS's own ``ovos-stt-server``, real processes on loopback, through
``ovos-stt-plugin-server`` with a list of URLs): its turns are spread across both; with one killed every turn is
still answered; a server that does not answer within the plugin's ``"timeout"`` (an HTTP server speaking the STT
server's API that holds every request) has its turns moved to the other, and when every server holds, the turn
fails (``transcription_failed``) instead of waiting. The rules themselves: tests/test_stt_pool.py."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from openai import AsyncOpenAI

from ovos_realtime_plugin.engines.choice import speech_choices
from ovos_realtime_plugin.engines.speech import LoadedSpeech, load_speech_engines, shipped_config
from ovos_realtime_plugin.engines.stt_pool import TranscriberPool
from tests.fixtures_server import API_KEY, Running, start_server
from tests.fixtures_speech import silence, spoken
from tests.fixtures_speech_servers import SERVERS_VENV, OvosSpeechServer
from tests.sdk_helpers import collect
from tests.test_voice_ovos import sounds_alike

QUESTION = "what time is it"
TIMEOUT_S = 3  # the plugin's own "timeout": how long it waits for a server


class HoldingServer:
    """Speaks the STT server's API (``POST /stt`` → text, ``GET /status``) but holds every transcription until
    the test ends: a server far slower than its timeout."""

    def __init__(self) -> None:
        self.asked = 0
        self.release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/stt", self._stt)
        app.router.add_get("/status", self._status)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/stt"

    async def _status(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _stt(self, request: web.Request) -> web.Response:
        self.asked += 1
        await request.read()
        await self.release.wait()
        return web.Response(text="far too late")

    async def stop(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture(scope="module")
async def stt_servers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[list[OvosSpeechServer]]:
    if not (SERVERS_VENV / "bin" / "ovos-stt-server").exists():
        pytest.skip("no .venv-ovos-servers (scripts/setup_ovos_servers.sh; OVOS_REALTIME_OVOS_SERVERS=0 skips it)")
    servers = [OvosSpeechServer("stt", tmp_path_factory.mktemp(f"ovos-stt-server-{n}")) for n in range(2)]
    try:
        await asyncio.gather(*(server.start() for server in servers))
        yield servers
    finally:
        for server in servers:
            server.stop()


def transcriptions(server: OvosSpeechServer) -> int:
    """How many transcriptions the server was asked for (its access log)."""
    return (server.home / "server.log").read_text(errors="replace").count('"POST /stt')


async def pool_of(urls: list[str]) -> LoadedSpeech:
    section = {"stt": {"module": "ovos-stt-plugin-server",
                       "ovos-stt-plugin-server": {"url": urls, "timeout": TIMEOUT_S}},
               "tts": {"module": ""}, "vad": {"module": ""}}
    loaded = await asyncio.to_thread(load_speech_engines, speech_choices({"realtime": section}, shipped_config()),
                                     False)  # not warmed: the first turns meet each server as it is
    assert isinstance(loaded.stt, TranscriberPool) and len(loaded.stt.members) == len(urls)
    return loaded


async def serving(loaded: LoadedSpeech) -> Running:
    return await start_server(speech=loaded.engines)


async def turns(running: Running, count: int) -> list[dict[str, Any]]:
    """``count`` spoken questions, one after the other, each committed by the client; each one's outcome."""
    client = AsyncOpenAI(api_key=API_KEY, base_url=running.http)
    outcomes = []
    async with client.realtime.connect(model="gpt-realtime") as conn:
        await collect(conn, "session.created")
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"], "audio": {
            "input": {"turn_detection": None, "transcription": {"model": "whisper-1"}}}})
        await collect(conn, "session.updated")
        for _ in range(count):
            audio = silence(300) + spoken(QUESTION) + silence(300)
            await conn.input_audio_buffer.append(audio=base64.b64encode(audio).decode())
            await conn.input_audio_buffer.commit()
            outcomes.append(await outcome(conn))
    return outcomes


async def outcome(conn: Any) -> dict[str, Any]:
    while True:
        event = json.loads(await asyncio.wait_for(conn.recv_bytes(), 120))
        if event["type"].endswith((".input_audio_transcription.failed", ".input_audio_transcription.completed")):
            return dict(event)


def heard_the_question(outcomes: list[dict[str, Any]]) -> bool:
    return all(o["type"].endswith(".completed") and sounds_alike(QUESTION, o["transcript"]) for o in outcomes)


async def test_turns_are_spread_across_both_servers_and_go_on_when_one_is_killed(
        stt_servers: list[OvosSpeechServer]) -> None:
    loaded = await pool_of([f"{server.url}/stt" for server in stt_servers])
    running = await serving(loaded)
    before = [transcriptions(server) for server in stt_servers]
    try:
        spread = await turns(running, 4)
        asked = [transcriptions(server) - n for server, n in zip(stt_servers, before, strict=True)]
        stt_servers[1].stop()
        without_one = await turns(running, 3)
    finally:
        await running.server.stop()
        loaded.close()
        if stt_servers[1].proc is None:
            await stt_servers[1].start()
    assert heard_the_question(spread), spread
    assert asked == [2, 2]
    assert heard_the_question(without_one), without_one


async def test_a_server_slower_than_its_timeout_has_its_turns_moved_to_the_other(
        stt_servers: list[OvosSpeechServer]) -> None:
    slow = HoldingServer()
    await slow.start()
    loaded = await pool_of([slow.url, f"{stt_servers[0].url}/stt"])
    running = await serving(loaded)
    try:
        moved = await turns(running, 3)
    finally:
        await running.server.stop()
        loaded.close()
        await slow.stop()
    assert heard_the_question(moved), moved
    assert slow.asked >= 1  # the first turn went to the slow server, and was answered by the other


async def test_a_turn_every_server_holds_fails_instead_of_waiting() -> None:
    slow = [HoldingServer(), HoldingServer()]
    for server in slow:
        await server.start()
    loaded = await pool_of([server.url for server in slow])
    running = await serving(loaded)
    try:
        failed = await turns(running, 1)
    finally:
        await running.server.stop()
        loaded.close()
        for server in slow:
            await server.stop()
    assert failed[0]["type"].endswith(".failed") and failed[0]["error"]["code"] == "transcription_failed"
    assert [server.asked for server in slow] == [1, 1]
