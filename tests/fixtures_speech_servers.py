"""OVOS's own speech servers on loopback, as another machine would run them: ``ovos-stt-server``
(ovos-stt-http-server) with faster-whisper and ``ovos-tts-server`` with piper, each a real process from
``.venv-ovos-servers`` (``scripts/setup_ovos_servers.sh``), with the same offline models as the main venv.
The tests skip when that venv is missing (``OVOS_REALTIME_OVOS_SERVERS=0``)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ovos_realtime_plugin.engines.choice import EngineChoice, choose, offline_default
from tests.test_daemon import free_port

ROOT = Path(__file__).resolve().parent.parent
SERVERS_VENV = ROOT / ".venv-ovos-servers"
OFFLINE_SITE = Path(__file__).parent / "offline_site"
START_TIMEOUT_S = 120.0


@dataclass
class OvosSpeechServer:
    """One server process; :meth:`stop` and :meth:`start` again keep its port (a server lost and back)."""

    kind: str  # "stt" or "tts"
    home: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        if self.kind == "stt":
            return [str(SERVERS_VENV / "bin" / "ovos-stt-server"), "--engine", self.choice().module,
                    "--host", "127.0.0.1", "--port", str(self.port)]
        return [str(SERVERS_VENV / "bin" / "ovos-tts-server"), "--engine", offline_default("tts").module,
                "--host", "127.0.0.1", "--port", str(self.port), "--lang", "en-US"]

    def choice(self) -> EngineChoice:
        """The offline model, on the stock OPM plugin that ovos-stt-http-server's venv has (ours is not there)."""
        choice = offline_default(self.kind)
        if self.kind == "stt":
            return choose("stt", {"realtime": {"stt": {"module": "ovos-stt-plugin-fasterwhisper"}}}, {}, None) or choice
        return choice

    def environment(self) -> dict[str, str]:
        choice = self.choice()
        conf = {self.kind: {"module": choice.module, choice.module: choice.config}}
        (self.home / "config" / "mycroft").mkdir(parents=True, exist_ok=True)
        (self.home / "config" / "mycroft" / "mycroft.conf").write_text(json.dumps(conf))
        homes = {f"XDG_{name.upper()}_HOME": str(self.home / name) for name in ("config", "data", "cache", "state")}
        return {**os.environ, **homes, "PYTHONPATH": str(OFFLINE_SITE), "HF_HUB_OFFLINE": "1",
                "ORT_DISABLE_TELEMETRY": "1"}

    async def start(self) -> None:
        self.proc = await asyncio.to_thread(self._spawn)
        await asyncio.wait_for(self._until_status_ok(), START_TIMEOUT_S)

    def _spawn(self) -> subprocess.Popen[bytes]:
        with (self.home / "server.log").open("ab") as log:
            return subprocess.Popen(self.command(), env=self.environment(), stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    async def _until_status_ok(self) -> None:
        while not await self._status_ok():
            assert self.proc is not None and self.proc.poll() is None, (self.home / "server.log").read_text()[-3000:]
            await asyncio.sleep(0.2)

    async def _status_ok(self) -> bool:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return False
        writer.write(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        line = await reader.readline()
        writer.close()
        return line.startswith(b"HTTP/1.1 200")

    def stop(self) -> None:
        """Kill it outright, as a machine that drops off the network would (no goodbye)."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@dataclass
class OvosSpeechServers:
    stt: OvosSpeechServer
    tts: OvosSpeechServer

    def realtime_section(self) -> dict[str, object]:
        """The ``"realtime"`` section that sends STT and TTS to them, through OVOS's client plugins."""
        return {"stt": {"module": "ovos-stt-plugin-server",
                        "ovos-stt-plugin-server": {"url": f"{self.stt.url}/stt"}},
                "tts": {"module": "ovos-tts-plugin-server",
                        "ovos-tts-plugin-server": {"host": self.tts.url, "v2": True}}}


@pytest.fixture(scope="session")
async def ovos_speech_servers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[OvosSpeechServers]:
    if not (SERVERS_VENV / "bin" / "ovos-stt-server").exists():
        pytest.skip("no .venv-ovos-servers (scripts/setup_ovos_servers.sh; OVOS_REALTIME_OVOS_SERVERS=0 skips it)")
    servers = OvosSpeechServers(OvosSpeechServer("stt", tmp_path_factory.mktemp("ovos-stt-server")),
                                OvosSpeechServer("tts", tmp_path_factory.mktemp("ovos-tts-server")))
    try:
        await asyncio.gather(servers.stt.start(), servers.tts.start())
        yield servers
    finally:
        servers.stt.stop()
        servers.tts.stop()
