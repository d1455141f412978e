"""Bounds on WebRTC calls (issue 21), against the real server and real aiortc peers: a call is its key's (another
key's ``DELETE`` and sideband get the 404 of an unknown call); a call that never connects is hung up and its slot
and UDP sockets freed; calls connecting at once are capped per key and per client address; an offer's candidates
are capped, so one offer cannot make the server send STUN to hundreds of addresses; the sideband and the data
channel have the outbox budget of a WebSocket; and honest sessions open while 1,000 such offers come in."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import ClientSession, TCPConnector
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from ovos_realtime_plugin.server.api_keys import keys_from_config
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.http_guard import HttpLimits
from ovos_realtime_plugin.server.settings import ServerSettings
from ovos_realtime_plugin.server.webrtc.settings import WebRTCSettings, webrtc_from_config
from tests.fixtures_server import API_KEY, Running, Served, start_server
from tests.scripted import ScriptedAssistant
from tests.sdk_helpers import TIMEOUT, user_text
from tests.test_http_guard import half_open
from tests.webrtc_client import Answer, Browser

LIMITED = "sk-limited"
KEYS = keys_from_config((), [{"key": LIMITED, "name": "limited", "allow_skills": ["hello-world"]}])
LOOPBACK = WebRTCSettings(ice_host_addresses=("127.0.0.1",))
PER_KEY, PER_ADDRESS = 3, 5
BUDGET = 256 * 1024
OTHER_ADDRESS = "127.0.0.2"  # loopback too: a second client address on this machine
TEXT = "x" * 60000  # an item whose events fit a data channel message (64 KiB)


@pytest.fixture(scope="module")
async def bounded() -> AsyncIterator[Running]:
    webrtc = replace(LOOPBACK, max_connecting_per_key=PER_KEY, max_connecting_per_address=PER_ADDRESS)
    running = await start_server(webrtc=webrtc, key_entries=KEYS, outbox_budget_bytes=BUDGET)
    yield running
    await running.server.stop()


@pytest.fixture(scope="module")
async def quick() -> AsyncIterator[Running]:
    running = await start_server(webrtc=replace(LOOPBACK, connect_timeout_s=1.5), key_entries=KEYS)
    yield running
    await running.server.stop()


# -- helpers ---------------------------------------------------------------------------------------------------
def post_from(url: str, body: bytes, key: str | None, source: str = "127.0.0.1") -> Answer:
    """POST an offer from the client address ``source``."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=TIMEOUT, source_address=(source, 0))
    try:
        conn.request("POST", parts.path, body, {"Content-Type": "application/sdp",
                                                **({"Authorization": f"Bearer {key}"} if key else {})})
        response = conn.getresponse()
        return Answer(response.status, dict(response.getheaders()), response.read().decode())
    finally:
        conn.close()


async def offer(served: Served, sdp: str, key: str | None, source: str = "127.0.0.1") -> Answer:
    return await asyncio.to_thread(post_from, f"{served.http}/realtime/calls", sdp.encode(), key, source)


async def call_from(peer: Browser, served: Served, key: str, source: str) -> Answer:
    """``Browser.call``, from the client address ``source``."""
    from aiortc import RTCSessionDescription

    answer = await offer(served, await peer.offer(), key, source)
    if answer.status == 201:
        await peer.pc.setRemoteDescription(RTCSessionDescription(answer.body, "answer"))
        peer.call_path = answer.headers["Location"]
        await asyncio.wait_for(peer.opened.wait(), TIMEOUT)
    return answer


async def bare_offer() -> str:
    """A real offer as the JS SDK posts it (before ICE gathering: no candidates), from a peer that is gone: a call
    made with it never connects."""
    peer = Browser()
    sdp = await peer.offer()
    await peer.close()
    return "".join(line for line in sdp.splitlines(keepends=True)
                   if not line.startswith(("a=candidate:", "a=end-of-candidates")))


def with_candidates(sdp: str, candidates: list[str]) -> str:
    """``sdp`` with ``candidates`` in its first media section."""
    head, _, rest = sdp.partition("a=ice-pwd:")
    pwd, _, tail = rest.partition("\r\n")
    return head + "a=ice-pwd:" + pwd + "\r\n" + "".join(c + "\r\n" for c in candidates) + tail


async def request(served: Served, method: str, path: str, key: str | None, body: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with ClientSession() as client, client.request(method, f"http://127.0.0.1:{served.server.port}{path}",
                                                        headers=headers, json=body) as response:
        text = await response.text()
        return response.status, json.loads(text) if text else None


async def mint(served: Served, key: str) -> str:
    status, body = await request(served, "POST", "/v1/realtime/client_secrets", key, {})
    assert status == 200, body
    return str(body["value"])


def sideband(served: Served, call_id: str, key: str | None, **options: Any) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return connect(f"{served.url}/realtime?call_id={call_id}", additional_headers=headers, **options)


async def refused_join(served: Served, call_id: str, key: str) -> tuple[int, Any]:
    with pytest.raises(InvalidStatus) as refused:
        async with sideband(served, call_id, key):
            pass
    return refused.value.response.status_code, json.loads(refused.value.response.body or b"null")


async def recv_until(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        event: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        if event["type"] == kind:
            return event


def create_item(text: str) -> dict[str, Any]:
    return {"type": "conversation.item.create", "item": user_text(text)}


def udp_sockets() -> set[str]:
    """The UDP sockets this process holds (server and test alike), by inode: one that closes elsewhere (a call
    of another test ending) does not count as one of ours freed."""
    inodes: set[str] = set()
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with open(table) as lines:
            next(lines)
            inodes |= {line.split()[9] for line in lines}
    held = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            held.add(target[8:-1])
    return held


async def connected(served: Served) -> Browser:
    peer = Browser()
    answer = await peer.call(served.http, API_KEY)
    assert answer.status == 201, answer.body
    await peer.until("session.created")
    await asyncio.wait_for(call_of(served, peer).connected.wait(), TIMEOUT)
    return peer


def call_of(served: Served, peer_or_answer: Browser | Answer) -> Any:
    path = peer_or_answer.call_path if isinstance(peer_or_answer, Browser) else peer_or_answer.headers["Location"]
    return served.server.calls[path.rsplit("/", 1)[1]]


async def hang_up(served: Served, answers: list[Answer], key: str) -> None:
    for answer in answers:
        call = call_of(served, answer)
        assert (await request(served, "DELETE", answer.headers["Location"], key))[0] == 200
        await asyncio.wait_for(call.ended.wait(), TIMEOUT)


# -- a call is its maker's ---------------------------------------------------------------------------------------
async def test_another_keys_delete_and_sideband_get_404(bounded: Running) -> None:
    owner = await connected(bounded)
    call_id = owner.call_path.rsplit("/", 1)[1]
    try:
        unknown = await request(bounded, "DELETE", "/v1/realtime/calls/rtc_none", LIMITED)
        assert unknown[0] == 404 and unknown[1]["error"]["code"] == "call_not_found"
        for stranger in (LIMITED, await mint(bounded, LIMITED)):
            status, body = await request(bounded, "DELETE", owner.call_path, stranger)
            assert (status, body) == (404, json.loads(json.dumps(unknown[1]).replace("rtc_none", call_id)))
            status, body = await refused_join(bounded, call_id, stranger)
            assert (status, body) == (404, json.loads(json.dumps(unknown[1]).replace("rtc_none", call_id)))
        assert await refused_join(bounded, "rtc_none", LIMITED) == unknown
        assert call_id in bounded.server.calls

        owners_ek = await mint(bounded, API_KEY)
        async with sideband(bounded, call_id, owners_ek) as ws:
            await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime",
                                                                             "instructions": "Mine."}}))
            assert (await recv_until(ws, "session.updated"))["session"]["instructions"] == "Mine."
        call = call_of(bounded, owner)
        assert (await request(bounded, "DELETE", owner.call_path, owners_ek))[0] == 200
        await asyncio.wait_for(call.ended.wait(), TIMEOUT)
    finally:
        await owner.close()


async def test_without_keys_every_call_is_everyones() -> None:
    """On a server with no keys (loopback only) there is one owner: no key, or any."""
    server = RealtimeServer(ServerSettings(port=0, webrtc=LOOPBACK), lambda _s: ScriptedAssistant())
    await server.start()
    served = Served(server)
    peer = Browser()
    try:
        answer = await peer.call(served.http, "")
        assert answer.status == 201, answer.body
        call_id = peer.call_path.rsplit("/", 1)[1]
        async with sideband(served, call_id, None) as ws:
            await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime"}}))
            await recv_until(ws, "session.updated")
        assert (await request(served, "DELETE", peer.call_path, "anything"))[0] == 200
    finally:
        await peer.close()
        await server.stop()


# -- calls that never connect -------------------------------------------------------------------------------------
async def test_a_call_that_never_connects_is_hung_up_and_freed(quick: Running) -> None:
    server = quick.server
    sdp = await bare_offer()
    sockets, sessions = udp_sockets(), server.sessions.total
    answers = [await offer(quick, sdp, API_KEY) for _ in range(3)]
    assert [a.status for a in answers] == [201] * 3, answers
    calls = [call_of(quick, a) for a in answers]
    assert len(udp_sockets() - sockets) >= 3 and server.sessions.total == sessions + 3
    await asyncio.wait_for(asyncio.gather(*(c.ended.wait() for c in calls)), TIMEOUT)
    assert not any(c.connected.is_set() for c in calls)
    assert not {c.id for c in calls} & set(server.calls)
    assert server.sessions.total == sessions
    assert not udp_sockets() - sockets  # every socket the calls bound is closed


async def test_an_offer_naming_400_addresses_gets_stun_at_few(quick: Running) -> None:
    """400 candidates, each a UDP socket of ours on loopback: until the call is hung up, the server's STUN
    checks reach at most ``max_remote_candidates`` of them."""
    loop = asyncio.get_running_loop()
    reached: set[int] = set()

    class Sink(asyncio.DatagramProtocol):
        def __init__(self) -> None:
            self.port = 0

        def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
            if data[:2] == b"\x00\x01":  # a STUN Binding request
                reached.add(self.port)

    sinks = []
    for _ in range(400):
        transport, sink = await loop.create_datagram_endpoint(Sink, local_addr=("127.0.0.1", 0))
        sink.port = transport.get_extra_info("sockname")[1]
        sinks.append((transport, sink))
    try:
        candidates = [f"a=candidate:{i} 1 udp {2130706431 - i} 127.0.0.1 {sink.port} typ host"
                      for i, (_, sink) in enumerate(sinks)]
        sdp = with_candidates(await bare_offer(), candidates)
        assert len(sdp) > 20000
        answer = await offer(quick, sdp, API_KEY)
        assert answer.status == 201, answer.body
        await asyncio.wait_for(call_of(quick, answer).ended.wait(), TIMEOUT)
        cap = quick.server.settings.webrtc.max_remote_candidates
        assert 0 < len(reached) <= cap, len(reached)
        assert reached <= {sink.port for _, sink in sinks[:cap]}  # the first ones, in the offer's order
    finally:
        for transport, _ in sinks:
            transport.close()


async def test_connecting_calls_are_capped_per_key_and_address(bounded: Running) -> None:
    sdp = await bare_offer()
    ready = [await connected(bounded) for _ in range(PER_KEY)]  # connected calls do not count
    held: list[Answer] = []
    limited: list[Answer] = []
    try:
        held = [await offer(bounded, sdp, API_KEY) for _ in range(PER_KEY)]
        assert [a.status for a in held] == [201] * PER_KEY
        past_key = await offer(bounded, sdp, API_KEY)
        assert past_key.status == 429 and int(past_key.headers["Retry-After"]) > 0
        error = json.loads(past_key.body)["error"]
        assert error["code"] == "too_many_connecting_calls" and "API key" in error["message"]
        assert set(error) == {"message", "type", "param", "code"}

        limited = [await offer(bounded, sdp, LIMITED) for _ in range(PER_ADDRESS - PER_KEY)]
        assert [a.status for a in limited] == [201] * (PER_ADDRESS - PER_KEY)
        past_address = await offer(bounded, sdp, LIMITED)
        assert past_address.status == 429 and "client address" in json.loads(past_address.body)["error"]["message"]
        elsewhere = await offer(bounded, sdp, LIMITED, OTHER_ADDRESS)
        assert elsewhere.status == 201, elsewhere.body
        limited.append(elsewhere)
    finally:
        await hang_up(bounded, held, API_KEY)
        await hang_up(bounded, limited, LIMITED)
        for peer in ready:
            await peer.close()
    honest = await connected(bounded)  # the slots of the refused and hung-up calls are free again
    await honest.close()


# -- outbox budgets ---------------------------------------------------------------------------------------------------
async def item_of(peer: Browser, text: str) -> str:
    peer.send(create_item(text))
    return str((await peer.until("conversation.item.done"))["item"]["id"])


async def test_a_sideband_that_never_reads_is_closed_and_the_call_goes_on(bounded: Running) -> None:
    owner = await connected(bounded)
    try:
        item_id = await item_of(owner, TEXT)
        retrieves = 12 * 1024 * 1024 // len(TEXT)  # 12 MiB of events: the budget, the socket buffers (~4 MiB) and more
        async with sideband(bounded, owner.call_path.rsplit("/", 1)[1], API_KEY, max_queue=1) as slow:
            for _ in range(retrieves):  # asked on the data channel, which reads: paced by it
                owner.send({"type": "conversation.item.retrieve", "item_id": item_id})
                await owner.until("conversation.item.retrieved")
            received = 0
            with pytest.raises(ConnectionClosed):
                while True:
                    received += len(await asyncio.wait_for(slow.recv(), TIMEOUT))
            assert slow.close_code == 1008 and "slow client" in (slow.close_reason or "")
        assert received < retrieves * len(TEXT) / 2, received  # the rest was dropped, not kept
        await item_of(owner, "hello")
        owner.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
        assert (await owner.until("response.done"))["response"]["status"] == "completed"
    finally:
        await owner.close()


async def test_a_data_channel_left_unread_ends_the_call(bounded: Running, caplog: pytest.LogCaptureFixture) -> None:
    owner = await connected(bounded)
    call = call_of(bounded, owner)
    try:
        item_id = await item_of(owner, TEXT)
        async with sideband(bounded, call.id, API_KEY) as side:
            for protocol in owner.pc.sctp.transport.transport._connection._protocols:
                protocol.transport.pause_reading()  # the page stops reading: no SCTP acknowledgements
            with pytest.raises(ConnectionClosed):
                for _ in range(4 * 1024 * 1024 // len(TEXT)):
                    await side.send(json.dumps({"type": "conversation.item.retrieve", "item_id": item_id}))
                    await recv_until(side, "conversation.item.retrieved")
                await recv_until(side, "never")
            assert side.close_code == 1000 and side.close_reason == "call ended"
        await asyncio.wait_for(call.ended.wait(), TIMEOUT)
        assert "bytes unread on the data channel" in caplog.text  # the budget ended it, not ICE consent (~30 s)
        assert call.id not in bounded.server.calls
    finally:
        await owner.close()


# -- a flood of offers that never connect -------------------------------------------------------------------------
@dataclass
class Flood:
    statuses: list[int] = field(default_factory=list)
    seconds: float = 0.0


async def flood(served: Served, sdp: str, count: int) -> Flood:
    result = Flood()
    started = time.monotonic()
    async with ClientSession(connector=TCPConnector(limit=64)) as client:
        async def one() -> None:
            async with client.post(f"{served.http}/realtime/calls", data=sdp.encode(),
                                   headers={"Authorization": f"Bearer {LIMITED}",
                                            "Content-Type": "application/sdp"}) as response:
                await response.read()
                result.statuses.append(response.status)
        await asyncio.gather(*(one() for _ in range(count)))
    result.seconds = time.monotonic() - started
    return result


async def test_honest_sessions_open_during_a_flood_of_offers(bounded: Running) -> None:
    """1,000 offers that never connect and 2,000 half-open HTTP connections at once: a WebSocket session and a
    WebRTC call still open and answer."""
    sdp = await bare_offer()
    sessions = bounded.server.sessions.total

    async def websocket_turn() -> str:
        async with connect(f"{bounded.url}/realtime?model=gpt-realtime",
                           additional_headers={"Authorization": f"Bearer {API_KEY}"}) as ws:
            await recv_until(ws, "session.created")
            await ws.send(json.dumps(create_item("hello")))
            await ws.send(json.dumps({"type": "response.create"}))
            return str((await recv_until(ws, "response.done"))["response"]["status"])

    async def webrtc_turn() -> str:
        peer = Browser()
        try:
            answer = await call_from(peer, bounded, API_KEY, OTHER_ADDRESS)
            assert answer.status == 201, answer.body
            await peer.until("session.created")
            peer.send(create_item("hello"))
            peer.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
            return str((await peer.until("response.done"))["response"]["status"])
        finally:
            await peer.close()

    half_open_sockets = await half_open(bounded.server.port, 2000)  # and 2,000 that never send their headers
    thrown = asyncio.ensure_future(flood(bounded, sdp, 1000))
    assert await asyncio.gather(websocket_turn(), webrtc_turn()) == ["completed", "completed"]
    result = await thrown
    assert bounded.server.guard.waiting <= HttpLimits().max_waiting
    for _, writer in half_open_sockets:
        writer.close()
    admitted = [s for s in result.statuses if s == 201]
    assert len(admitted) == PER_KEY and result.statuses.count(429) == 1000 - PER_KEY, sorted(set(result.statuses))
    print(f"1000 offers answered in {result.seconds:.1f} s, {len(admitted)} admitted")
    connecting = [c for c in bounded.server.calls.values() if not c.connected.is_set()]
    assert len(connecting) == PER_KEY
    for call in connecting:
        assert (await request(bounded, "DELETE", f"/v1/realtime/calls/{call.id}", LIMITED))[0] == 200
        await asyncio.wait_for(call.ended.wait(), TIMEOUT)
    assert bounded.server.sessions.total == sessions


@pytest.mark.parametrize("section", [{"connect_timeout_s": 31}, {"connect_timeout_s": 0},
                                     {"max_connecting_per_key": 0}, {"max_remote_candidates": 0}])
def test_settings_out_of_range_are_refused(section: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(section))):
        webrtc_from_config(section)


def test_settings_defaults() -> None:
    settings = webrtc_from_config({})
    assert (settings.connect_timeout_s, settings.max_connecting_per_key, settings.max_connecting_per_address,
            settings.max_remote_candidates) == (20.0, 8, 8, 20)
