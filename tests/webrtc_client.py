"""A Python aiortc peer standing in for a browser: posts its offer as the JS SDK does, talks on the
``oai-events`` data channel, plays speech into its microphone track and measures the answer audio."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

from ovos_realtime_plugin.server.webrtc import ice
from ovos_realtime_plugin.server.webrtc.playback import Playback
from ovos_realtime_plugin.server.webrtc.settings import WebRTCSettings
from ovos_realtime_plugin.server.webrtc.tracks import AnswerTrack
from tests.sdk_helpers import TIMEOUT

LOUD = 1000
VOICE = {"type": "realtime", "output_modalities": ["audio"],
         "audio": {"input": {"transcription": {"model": "whisper-1"}}}}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str


def post(url: str, body: bytes, content_type: str, key: str | None) -> Answer:
    headers = {"Content-Type": content_type, **({"Authorization": f"Bearer {key}"} if key else {})}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return Answer(response.status, dict(response.headers), response.read().decode())
    except urllib.error.HTTPError as err:
        return Answer(err.code, dict(err.headers), err.read().decode())

LOOPBACK = WebRTCSettings(ice_host_addresses=("127.0.0.1",))
"""What the test's own peers offer: the server's test settings offer loopback too."""


@dataclass
class Browser:
    """One call. ``mic`` holds what the microphone will say (PCM16 24 kHz), silence after it."""

    pc: RTCPeerConnection = field(default_factory=lambda: RTCPeerConnection(RTCConfiguration(iceServers=[])))
    mic: Playback = field(default_factory=lambda: Playback(lambda event: None))
    events: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    seen: list[dict[str, Any]] = field(default_factory=list)
    loudest: int = 0
    heard_frames: int = 0
    call_path: str = ""
    loud_at: float | None = None
    """When the first loud answer frame arrived since it was last reset (``time.perf_counter()``)."""

    def __post_init__(self) -> None:
        self.pc.addTrack(AnswerTrack(self.mic))
        self.channel = self.pc.createDataChannel("oai-events")
        self.opened = asyncio.Event()
        self.channel.on("open", self.opened.set)
        self.channel.on("message", lambda text: self.events.put_nowait(json.loads(text)))
        self.pc.on("track", lambda track: asyncio.ensure_future(self._listen(track)))

    async def offer(self) -> str:
        offer = await self.pc.createOffer()
        ice.restrict(self.pc, LOOPBACK)  # loopback too (aioice alone leaves it out), on any port
        await self.pc.setLocalDescription(offer)
        return self.pc.localDescription.sdp

    async def call(self, base: str, key: str, path: str = "/realtime/calls") -> Answer:
        """Post the offer to ``base + path`` (``/realtime?model=...``: the beta WebRTC guide's endpoint)."""
        answer = await asyncio.to_thread(post, f"{base}{path}", (await self.offer()).encode(),
                                         "application/sdp", key)
        if answer.status == 201:
            await self.pc.setRemoteDescription(RTCSessionDescription(answer.body, "answer"))
            self.call_path = answer.headers.get("Location", "")
            await asyncio.wait_for(self.opened.wait(), TIMEOUT)
        return answer

    async def start(self, session: dict[str, Any]) -> None:
        """Wait for the session, then set it up as ``session`` says."""
        await self.until("session.created")
        self.send({"type": "session.update", "session": session})
        await self.until("session.updated")

    def send(self, event: dict[str, Any]) -> None:
        self.channel.send(json.dumps(event))

    def say(self, pcm16: bytes) -> None:
        self.mic.add("mic", "mic", pcm16)

    async def until(self, kind: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        try:
            return await asyncio.wait_for(self._until(kind), timeout)
        except TimeoutError:
            raise AssertionError(f"no {kind} in time; seen: {[e['type'] for e in self.seen]}") from None

    async def _until(self, kind: str) -> dict[str, Any]:
        if True:
            while True:
                event = await self.events.get()
                self.seen.append(event)
                if event["type"] == kind:
                    return event

    async def _listen(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            assert isinstance(frame, AudioFrame)
            samples = np.frombuffer(bytes(frame.planes[0]), "<i2")
            self.heard_frames += 1
            level = int(np.abs(samples.astype(np.int32)).max())
            self.loudest = max(self.loudest, level)
            if level > LOUD and self.loud_at is None:
                self.loud_at = time.perf_counter()

    async def close(self) -> None:
        await self.pc.close()
