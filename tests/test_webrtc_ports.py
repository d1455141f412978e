"""``udp_port_range``: a call's host candidates bind only ports in the range and the call still carries a
spoken turn; a range with no free port left answers the offer with a 503 at once, and the next call works."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager

import pytest

from ovos_realtime_plugin.engines.speech import LoadedSpeech
from ovos_realtime_plugin.server.webrtc.settings import WebRTCSettings
from tests.fixtures_server import API_KEY, Running, start_server
from tests.fixtures_speech import silence, spoken
from tests.webrtc_client import LOUD, VOICE, Browser, post

WIDTH = 4


def free_range(width: int) -> tuple[int, int]:
    """``width`` consecutive UDP ports free on loopback now (the client peer binds in the range too)."""
    for low in range(42000, 60000, width):
        with ExitStack() as held:
            try:
                for port in range(low, low + width):
                    held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)).bind(("127.0.0.1", port))
            except OSError:
                continue
            return low, low + width - 1
    raise RuntimeError("no free UDP port range on loopback")


@contextmanager
def taken(port_range: tuple[int, int]) -> Iterator[None]:
    """Every port of the range held by someone else."""
    with ExitStack() as held:
        for port in range(port_range[0], port_range[1] + 1):
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                pass  # already held (a peer of this test still open): taken all the same
        yield


@pytest.fixture(scope="module")
async def ranged(speech: LoadedSpeech) -> AsyncIterator[Running]:
    settings = WebRTCSettings(ice_host_addresses=("127.0.0.1",), udp_port_range=free_range(WIDTH))
    running = await start_server(speech=speech.engines, webrtc=settings)
    yield running
    await running.server.stop()


def host_ports(sdp: str) -> list[int]:
    return [int(line.split()[5]) for line in sdp.split("\r\n")
            if line.startswith("a=candidate:") and " typ host" in line]


async def test_host_candidates_in_the_range_carry_a_spoken_turn(ranged: Running) -> None:
    low, high = ranged.server.settings.webrtc.udp_port_range or (0, 0)
    browser = Browser()
    try:
        answer = await browser.call(ranged.http, API_KEY)
        assert answer.status == 201, answer.body
        ports = host_ports(answer.body)
        assert ports and all(low <= port <= high for port in ports), (ports, low, high)
        await browser.start(VOICE)
        browser.say(silence(300) + spoken("hello there how are you today") + silence(1500))
        transcript = await browser.until("conversation.item.input_audio_transcription.completed")
        assert "hello" in transcript["transcript"].lower()
        await browser.until("output_audio_buffer.stopped")
        assert browser.loudest > LOUD
    finally:
        await browser.close()


async def test_an_exhausted_range_fails_the_call_at_once(ranged: Running) -> None:
    port_range = ranged.server.settings.webrtc.udp_port_range
    assert port_range
    browser = Browser()
    offer = (await browser.offer()).encode()
    try:
        with taken(port_range):
            refused = await asyncio.to_thread(post, f"{ranged.http}/realtime/calls", offer, "application/sdp",
                                              API_KEY)
        assert refused.status == 503, refused.body
        assert "udp_port_range" in refused.body
        assert not ranged.server.calls
    finally:
        await browser.close()
    again = Browser()
    try:
        assert (await again.call(ranged.http, API_KEY)).status == 201  # ports freed: calls work again
    finally:
        await again.close()
