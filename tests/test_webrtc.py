"""WebRTC calls with a Python aiortc peer as the browser: the offer as the JS SDK posts it, events on the
``oai-events`` data channel through the same session core, speech in on the microphone track, the answer
out on a paced audio track with ``output_audio_buffer.*``, bad input answered with 4xx JSON errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiortc import RTCSessionDescription
from websockets.asyncio.client import connect

from ovos_realtime_plugin.engines.speech import LoadedSpeech
from ovos_realtime_plugin.server.webrtc import ice
from ovos_realtime_plugin.server.webrtc.settings import WebRTCSettings
from tests.fixtures_server import API_KEY, Running, start_server
from tests.fixtures_speech import silence, spoken
from tests.sdk_helpers import TIMEOUT
from tests.webrtc_client import VOICE, Browser, post

LOOPBACK = WebRTCSettings(ice_host_addresses=("127.0.0.1",))


@pytest.fixture(scope="module")
async def rtc_server(speech: LoadedSpeech) -> AsyncIterator[Running]:
    running = await start_server(speech=speech.engines, webrtc=LOOPBACK)
    yield running
    await running.server.stop()


@pytest.fixture
async def browser(rtc_server: Running) -> AsyncIterator[Browser]:
    peer = Browser()
    answer = await peer.call(rtc_server.http, API_KEY)
    assert answer.status == 201, answer.body
    assert answer.headers["Content-Type"].startswith("application/sdp")
    yield peer
    await peer.close()


async def test_session_over_the_data_channel(browser: Browser, rtc_server: Running) -> None:
    assert browser.call_path.startswith("/v1/realtime/calls/rtc_")
    assert (await browser.until("session.created"))["session"]["type"] == "realtime"
    browser.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}})
    await browser.until("session.updated")
    browser.send({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]}})
    browser.send({"type": "response.create"})
    done = await browser.until("response.done")
    assert done["response"]["status"] == "completed"


async def test_spoken_turn_answered_on_the_audio_track(browser: Browser) -> None:
    await browser.start(VOICE)
    browser.say(silence(300) + spoken("hello there how are you today") + silence(1500))
    transcript = await browser.until("conversation.item.input_audio_transcription.completed")
    assert "hello" in transcript["transcript"].lower()
    started = await browser.until("output_audio_buffer.started")
    stopped = await browser.until("output_audio_buffer.stopped")
    assert started["response_id"] == stopped["response_id"]
    assert browser.loudest > 1000  # the answer was heard, not silence
    assert not [e for e in browser.seen if e["type"] == "response.output_audio.delta"]  # audio is on the track


async def test_clear_cuts_the_answer_and_truncates_it(browser: Browser) -> None:
    await browser.start({**VOICE, "audio": {"input": {"turn_detection": None}}})
    browser.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [
        {"type": "input_text", "text": "the quick brown fox jumps over the lazy dog and runs far away"}]}})
    browser.send({"type": "response.create"})
    started = await browser.until("output_audio_buffer.started")
    browser.send({"type": "output_audio_buffer.clear"})
    cleared = await browser.until("output_audio_buffer.cleared")
    truncated = await browser.until("conversation.item.truncated")
    assert cleared["response_id"] == started["response_id"]
    assert truncated["audio_end_ms"] >= 0
    assert "output_audio_buffer.stopped" not in [e["type"] for e in browser.seen]


async def test_barge_in_clears_the_answer(browser: Browser) -> None:
    await browser.start(VOICE)
    browser.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [
        {"type": "input_text", "text": "tell me a long story about a fox that runs far away"}]}})
    browser.send({"type": "response.create"})
    await browser.until("output_audio_buffer.started")
    browser.say(spoken("stop, stop please") + silence(1500))
    await browser.until("input_audio_buffer.speech_started")
    cleared = await browser.until("output_audio_buffer.cleared")
    assert cleared["response_id"]


async def test_multipart_offer_with_a_session(rtc_server: Running) -> None:
    peer = Browser()
    boundary = "xBOUNDARYx"
    session = json.dumps({"type": "realtime", "instructions": "Be brief."})
    body = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                   for name, value in (("sdp", await peer.offer()), ("session", session)))
    body += f"--{boundary}--\r\n"
    answer = await asyncio.to_thread(post, f"{rtc_server.http}/realtime/calls", body.encode(),
                                     f"multipart/form-data; boundary={boundary}", API_KEY)
    try:
        assert answer.status == 201, answer.body
        assert answer.body.startswith("v=0")
    finally:
        await peer.close()


async def test_the_beta_guides_flow_speaks_beta_on_the_data_channel(rtc_server: Running) -> None:
    """OpenAI's beta WebRTC guide (and its console and agents samples): a key from ``POST /v1/realtime/sessions``,
    the offer to ``POST /v1/realtime?model=``, beta events on ``oai-events``."""
    minted = await asyncio.to_thread(post, f"{rtc_server.http}/realtime/sessions", json.dumps(
        {"model": "gpt-4o-realtime-preview-2024-12-17", "voice": "verse", "modalities": ["text"]}).encode(),
        "application/json", API_KEY)
    assert minted.status == 200, minted.body
    key = json.loads(minted.body)["client_secret"]["value"]
    peer = Browser()
    try:
        answer = await peer.call(rtc_server.http, key, "/realtime?model=gpt-4o-realtime-preview-2024-12-17")
        assert answer.status == 201, answer.body
        created = await peer.until("session.created")
        assert created["session"]["modalities"] == ["text"] and created["session"]["voice"] == "verse"
        peer.send({"type": "session.update", "session": {"instructions": "Be brief.", "turn_detection": None}})
        assert (await peer.until("session.updated"))["session"]["turn_detection"] is None
        peer.send({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]}})
        peer.send({"type": "response.create"})
        await peer.until("response.text.delta")
        done = await peer.until("response.done")
        assert done["response"]["status"] == "completed" and done["response"]["modalities"] == ["text"]
        assert "error" not in [e["type"] for e in peer.seen]
    finally:
        await peer.close()


async def test_a_beta_session_in_the_calls_form_makes_a_beta_call(rtc_server: Running) -> None:
    peer = Browser()
    boundary = "xBOUNDARYx"
    body = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                   for name, value in (("sdp", await peer.offer()),
                                       ("session", json.dumps({"modalities": ["text"], "voice": "ash"}))))
    body += f"--{boundary}--\r\n"
    answer = await asyncio.to_thread(post, f"{rtc_server.http}/realtime/calls", body.encode(),
                                     f"multipart/form-data; boundary={boundary}", API_KEY)
    try:
        assert answer.status == 201, answer.body
        await peer.pc.setRemoteDescription(RTCSessionDescription(answer.body, "answer"))
        await asyncio.wait_for(peer.opened.wait(), TIMEOUT)
        created = await peer.until("session.created")
        assert created["session"]["modalities"] == ["text"] and created["session"]["voice"] == "ash"
    finally:
        await peer.close()


async def test_delete_hangs_up_and_releases_the_call(browser: Browser, rtc_server: Running) -> None:
    await browser.until("session.created")
    server = rtc_server.server
    assert browser.call_path.rsplit("/", 1)[1] in server.calls

    def delete() -> int:
        import urllib.request

        request = urllib.request.Request(f"http://127.0.0.1:{server.port}{browser.call_path}", method="DELETE",
                                         headers={"Authorization": f"Bearer {API_KEY}"})
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return int(response.status)

    call = server.calls[browser.call_path.rsplit("/", 1)[1]]
    assert await asyncio.to_thread(delete) == 200
    await asyncio.wait_for(call.ended.wait(), TIMEOUT)
    assert call.id not in server.calls
    assert call.session.id not in {c.session.id for c in server.connections}


async def test_sideband_websocket_joins_the_call(browser: Browser, rtc_server: Running) -> None:
    await browser.until("session.created")
    call_id = browser.call_path.rsplit("/", 1)[1]
    async with connect(f"{rtc_server.url}/realtime?call_id={call_id}",
                       additional_headers={"Authorization": f"Bearer {API_KEY}"}) as ws:
        await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime",
                                                                         "instructions": "From the side."}}))
        seen: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    assert seen["type"] == "session.updated" and seen["session"]["instructions"] == "From the side."
    assert (await browser.until("session.updated"))["session"]["instructions"] == "From the side."


OFFER_AUDIO = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"


@pytest.mark.parametrize(("body", "content_type", "key", "status", "code"), [
    (b"not an sdp", "application/sdp", API_KEY, 400, "invalid_offer"),
    (b"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n", "application/sdp",
     API_KEY, 400, "invalid_offer"),
    (OFFER_AUDIO.encode(), "application/sdp", API_KEY, 400, "invalid_offer"),  # no ICE/DTLS: aiortc refuses
    (b'--b\r\nContent-Disposition: form-data; name="session"\r\n\r\n{}\r\n--b--\r\n',
     "multipart/form-data; boundary=b", API_KEY, 400, "invalid_offer"),
    (b"v=0\r\n" + b"a" * 70000, "application/sdp", API_KEY, 413, "request_too_large"),
    (OFFER_AUDIO.encode(), "application/sdp", "ek_forged", 401, "invalid_api_key"),
    (OFFER_AUDIO.encode(), "application/sdp", None, 401, "invalid_api_key"),
])
async def test_bad_offers_get_json_errors(rtc_server: Running, body: bytes, content_type: str, key: str | None,
                                          status: int, code: str) -> None:
    before = set(rtc_server.server.calls)
    answer = await asyncio.to_thread(post, f"{rtc_server.http}/realtime/calls", body, content_type, key)
    assert answer.status == status and json.loads(answer.body)["error"]["code"] == code
    assert set(rtc_server.server.calls) <= before  # no call left behind


async def test_cors_preflight_allows_any_origin(rtc_server: Running) -> None:
    def preflight() -> tuple[int, str, str]:
        import urllib.request

        request = urllib.request.Request(f"{rtc_server.http}/realtime/calls", method="OPTIONS", headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"})
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return (response.status, response.headers["Access-Control-Allow-Origin"],
                    response.headers["Access-Control-Allow-Headers"])

    status, origin, headers = await asyncio.to_thread(preflight)
    assert status == 204 and origin == "https://app.example" and "Authorization" in headers


def test_default_host_candidates_include_loopback() -> None:
    """With no ice_host_addresses, aioice's own addresses and 127.0.0.1 (aioice alone leaves loopback out)."""
    assert "127.0.0.1" in ice.host_addresses(WebRTCSettings(), use_ipv4=True, use_ipv6=False)
    assert "127.0.0.1" not in ice.host_addresses(WebRTCSettings(), use_ipv4=False, use_ipv6=True)
