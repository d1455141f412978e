"""The ``ovos-realtime`` daemon: its settings, readiness (/healthz, ``mycroft.realtime.is_ready``), joining a
device's bus, and the real ``ovos-realtime --standalone`` process from start to SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from openai import AsyncOpenAI
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from ovos_realtime_plugin.bus import names
from ovos_realtime_plugin.bus.client import BusConnection
from ovos_realtime_plugin.bus.session import DEFAULT_PIPELINE
from ovos_realtime_plugin.bus.skills_service import SkillsService, SkillsServiceSettings
from ovos_realtime_plugin.bus.status import ServiceStatus
from ovos_realtime_plugin.cli import parse_args, settings_from
from ovos_realtime_plugin.daemon import Daemon
from ovos_realtime_plugin.daemon_settings import BusAddress, daemon_settings
from ovos_realtime_plugin.server.settings import DEFAULT_PORT
from tests.fixtures_ovos import CACHE_DIR, OvosStack
from tests.fixtures_server import API_KEY, start_server
from tests.sdk_helpers import collect, user_text

READY_TIMEOUT_S = 240.0  # a cold padatious cache takes ~70 s on 2 cores


# --- settings ------------------------------------------------------------------------------

def test_joining_uses_the_websocket_section_and_bus_overrides_it() -> None:
    conf = {"websocket": {"host": "10.0.0.5", "port": 9000, "route": "/bus"}, "lang": "de-DE"}
    settings = daemon_settings(conf)
    assert settings.bus == BusAddress("10.0.0.5", 9000, "/bus") and not settings.standalone
    assert settings.server.port == DEFAULT_PORT and settings.server.language == "de-DE"
    assert settings.assistant.default_lang == "de-DE" and settings.assistant.pipeline == DEFAULT_PIPELINE
    assert daemon_settings(conf, bus="[::1]:8200").bus == BusAddress("::1", 8200, "/bus")
    with pytest.raises(ValueError, match="HOST:PORT"):
        daemon_settings(conf, bus="localhost")


def test_the_command_line_wins_over_the_realtime_section_which_wins_over_the_rest() -> None:
    conf = {"lang": "de-DE", "realtime": {"lang": "fr-FR", "port": 7000, "api_keys": ["sk-a"],
                                          "pipeline": ["padatious_high"], "turn_timeout_s": 4}}
    settings = daemon_settings(conf)
    assert (settings.server.language, settings.server.port) == ("fr-FR", 7000)
    assert settings.assistant.pipeline == ("padatious_high",) and settings.assistant.turn_timeout_s == 4.0
    settings = daemon_settings(conf, lang="es-ES", port=7001, host="0.0.0.0", api_keys=["sk-b"])
    assert (settings.server.language, settings.server.port, settings.server.host) == ("es-ES", 7001, "0.0.0.0")
    assert settings.server.api_keys == {"sk-a", "sk-b"} and settings.assistant.default_lang == "es-ES"


def test_the_llm_flags_win_over_the_llm_section() -> None:
    conf = {"realtime": {"llm": {"base_url": "http://file/v1", "model": "from-file", "max_tool_rounds": 2}}}
    settings = settings_from(parse_args(["--llm-model", "gemma", "--responder", "llm"]), conf)
    assert settings.llm is not None
    assert (settings.llm.base_url, settings.llm.model, settings.llm.responder) == ("http://file/v1", "gemma", "llm")
    assert settings.llm.max_tool_rounds == 2
    flagged = settings_from(parse_args(["--llm-url", "http://127.0.0.1:8080/v1", "--llm-model", "m"]), {})
    assert flagged.llm is not None and flagged.llm.base_url == "http://127.0.0.1:8080/v1"
    assert flagged.llm.responder == "ovos_first"
    assert settings_from(parse_args([]), {}).llm is None


def test_standalone_runs_its_own_bus_on_loopback_and_hands_the_device_settings_to_the_skills() -> None:
    location = {"timezone": {"code": "Europe/Lisbon"}}
    conf = {"websocket": {"port": 8181}, "lang": "pt-PT", "location": location,
            "realtime": {"standalone": {"state_dir": "/tmp/x", "skills_config": {"skills": {"debug": True}}}}}
    settings = daemon_settings(conf, standalone=True)
    assert settings.bus == BusAddress("127.0.0.1", 0, "/core")  # a free port, never the device's 8181
    assert settings.skills is not None and settings.skills.state_dir == Path("/tmp/x")
    assert settings.skills.report_offline
    config = settings.skills.config
    assert config["lang"] == "pt-PT" and config["location"] == location and config["skills"] == {"debug": True}
    assert "websocket" not in config
    assert daemon_settings(conf, standalone=True, bus="127.0.0.1:8300").bus.port == 8300
    with pytest.raises(ValueError, match="loopback"):
        daemon_settings(conf, standalone=True, bus="0.0.0.0:8300")


# --- readiness -------------------------------------------------------------------------------

async def http_status(port: int, path: str = "/healthz") -> int | None:
    """The status of ``GET path``; ``None`` while nothing listens."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return None
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        status_line = await reader.readline()
        return int(status_line.split()[1]) if status_line else None
    finally:
        writer.close()


async def wait_healthy(port: int, running: Callable[[], bool], timeout: float = READY_TIMEOUT_S,
                       status: int = 200) -> None:
    """Poll /healthz (the readiness protocol a supervisor uses) until 200 (or ``status``)."""
    async def poll() -> None:
        while await http_status(port) != status:
            assert running(), f"the daemon stopped before /healthz answered {status}"
            await asyncio.sleep(0.2)
    await asyncio.wait_for(poll(), timeout)


async def hello_world(port: int) -> str:
    return await text_turn(port, "hello world")


async def text_turn(port: int, text: str) -> str:
    """The text answer to ``text``, asked with the stock SDK in a new connection."""
    sdk = AsyncOpenAI(api_key=API_KEY, base_url=f"http://127.0.0.1:{port}/v1")
    async with sdk.realtime.connect(model="gpt-realtime") as conn:
        await collect(conn, "session.created")
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await collect(conn, "session.updated")
        await conn.conversation.item.create(item=user_text(text))
        await conn.response.create()
        events = await collect(conn, "response.done")
    return "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")


async def realtime_is_ready(bus_port: int) -> bool | None:
    """What the daemon answers to ``mycroft.realtime.is_ready`` on the bus at ``bus_port``."""
    asker = BusConnection(port=bus_port, source="test-asker")
    await asker.connect()
    try:
        reply = await asker.request(names.status_query("realtime", "is_ready"), timeout=5.0)
        assert reply is not None, "no answer to mycroft.realtime.is_ready"
        return reply.data.get("status")
    finally:
        await asker.close()


async def test_until_ready_healthz_is_503_and_sessions_are_refused() -> None:
    running = await start_server()
    server = running.server
    try:
        server.ready = False
        assert await http_status(server.port) == 503
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{running.url}/realtime?model=gpt-realtime"):
                pass
        assert refused.value.response.status_code == 503
        server.ready = True
        assert await http_status(server.port) == 200
        async with connect(f"{running.url}/realtime?model=gpt-realtime",
                           additional_headers={"Authorization": f"Bearer {API_KEY}"}) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
    finally:
        await server.stop()


async def test_the_status_is_answered_on_the_bus(ovos_stack: OvosStack, ovos_bus: BusConnection) -> None:
    status = ServiceStatus("realtime-test")
    asker = BusConnection(port=ovos_stack.port, source="test-asker")
    await asker.connect()
    status.bind(ovos_bus)

    async def ask(query: str) -> bool | None:
        reply = await asker.request(names.status_query("realtime-test", query), timeout=5.0)
        assert reply is not None, f"no answer to {query}"
        return reply.data.get("status")

    try:
        status.set_started()
        assert (await ask("is_alive"), await ask("is_ready")) == (False, False)
        status.set_alive()
        assert (await ask("is_alive"), await ask("is_ready")) == (True, False)
        status.set_ready()
        assert (await ask("is_alive"), await ask("is_ready"), await ask("all_loaded")) == (True, True, True)
        status.unbind()
        assert await asker.request(names.status_query("realtime-test", "is_ready"), timeout=0.5) is None
    finally:
        status.unbind()
        await asker.close()


# --- the daemon --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_joining_a_running_bus_serves_its_skills_and_leaves_them_running(ovos_stack: OvosStack) -> None:
    port = free_port()
    settings = daemon_settings({"websocket": {"port": ovos_stack.port}}, port=port, api_keys=[API_KEY])
    daemon = Daemon(settings)
    stop = asyncio.Event()
    run = asyncio.create_task(daemon.run(stop))
    try:
        await wait_healthy(port, lambda: not run.done())
        assert await hello_world(port) == "Hello world"
        assert await realtime_is_ready(ovos_stack.port) is True
    finally:
        stop.set()
        await asyncio.wait_for(run, 30.0)
    assert await http_status(port) is None  # no longer listening
    assert ovos_stack.skills.running  # the device's skills are not ours to stop
    await ovos_stack.skills.wait_ready(5.0)


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def skills_service(pids: list[int]) -> int:
    """Which of the daemon's child processes is the skills service (piper's espeak-ng program is another)."""
    (pid,) = [pid for pid in pids if b"skills_child" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    return pid


def alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def daemon_env(tmp_path: Path, realtime: dict[str, object]) -> dict[str, str]:
    """A mycroft.conf of its own with this ``"realtime"`` section; logs under ``tmp_path/state``."""
    conf_dir = tmp_path / "config" / "mycroft"
    conf_dir.mkdir(parents=True)
    (conf_dir / "mycroft.conf").write_text(json.dumps({"realtime": realtime}))
    return {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_STATE_HOME": str(tmp_path / "state")}


async def spawn_daemon(tmp_path: Path, *args: str, realtime: dict[str, object]) -> asyncio.subprocess.Process:
    with (tmp_path / "daemon.log").open("wb") as out:
        return await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "ovos-realtime"), *args, env=daemon_env(tmp_path, realtime),
            stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=asyncio.subprocess.STDOUT)


async def spawn_standalone(tmp_path: Path, **settings: object) -> tuple[asyncio.subprocess.Process, int, int]:
    """``ovos-realtime --standalone --port <free>`` with the tests' warm padatious cache (and ``settings`` in its
    ``"standalone"`` section): the process, its port and its embedded bus's port."""
    port, bus_port = free_port(), free_port()
    standalone = {"bus_port": bus_port, "state_dir": str(tmp_path / "skills"), "data_dir": str(CACHE_DIR / "data"),
                  **settings}
    proc = await spawn_daemon(tmp_path, "--standalone", "--port", str(port), realtime={"standalone": standalone})
    return proc, port, bus_port


@pytest.mark.parametrize(("args", "code", "said"), [
    (["--host", "0.0.0.0"], 2, "refusing to listen on 0.0.0.0 with no API keys"),
    (["--bus", "127.0.0.1:{free}"], 1, "not reachable within 1 s"),
], ids=["no-api-keys", "no-bus"])
async def test_a_daemon_that_cannot_work_says_why_and_exits(tmp_path: Path, args: list[str], code: int,
                                                           said: str) -> None:
    args = [arg.format(free=free_port()) for arg in args]
    proc = await spawn_daemon(tmp_path, "--port", str(free_port()), *args, realtime={"bus_timeout_s": 1})
    try:
        assert await asyncio.wait_for(proc.wait(), 60.0) == code
    finally:
        await kill_leftovers(proc, [])
    assert said in (tmp_path / "daemon.log").read_text()


async def terminate(proc: asyncio.subprocess.Process, children: list[int], tmp_path: Path) -> None:
    """SIGTERM: exit status 0, every child process stopped and reaped."""
    proc.send_signal(signal.SIGTERM)
    code = await asyncio.wait_for(proc.wait(), 60.0)
    assert code == 0, (tmp_path / "daemon.log").read_text()[-3000:]
    assert alive(children) == []


async def kill_leftovers(proc: asyncio.subprocess.Process, children: list[int]) -> None:
    if proc.returncode is None:
        proc.kill()
        await proc.wait()
    for pid in alive(children):
        os.kill(pid, signal.SIGKILL)


async def test_the_standalone_daemon_serves_then_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    proc, port, bus_port = await spawn_standalone(tmp_path)
    children: list[int] = []
    try:
        await wait_healthy(port, lambda: proc.returncode is None)
        children = descendants(proc.pid)
        assert children, "no skills service child process"
        assert await hello_world(port) == "Hello world"
        await cross_site_attempts_fail(port)
        assert await realtime_is_ready(bus_port) is True  # the embedded bus, where the config put it
        await terminate(proc, children, tmp_path)
        assert "realtime ready" in (tmp_path / "state" / "mycroft" / "realtime.log").read_text()
    finally:
        await kill_leftovers(proc, children)


async def cross_site_attempts_fail(port: int) -> None:
    """The daemon as ``scripts/run.sh`` runs it (no keys): a page on another origin, or under a rebound name,
    opens no session and mints no key; the skills never hear it."""
    url = f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime"
    for headers, host, status in [({"Origin": "https://evil.example"}, "127.0.0.1", 403),
                                  ({}, "evil.example", 421)]:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url.replace("127.0.0.1", host), host="127.0.0.1", port=port,
                               additional_headers=headers):
                pass
        assert refused.value.response.status_code == status
    for headers in ({"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"},
                    {"Host": f"127.0.0.1:{port}", "Origin": "https://evil.example"}):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(f"POST /console/client_secret HTTP/1.1\r\n{lines}Content-Length: 2\r\nConnection: close"
                     f"\r\n\r\n{{}}".encode())
        status_line = await reader.readline()
        writer.close()
        assert int(status_line.split()[1]) in (403, 421), status_line


async def test_sigterm_while_the_skills_load_stops_them_too(tmp_path: Path) -> None:
    proc, port, _ = await spawn_standalone(tmp_path)
    children: list[int] = []
    try:
        async def skills_spawned() -> None:  # the skills service among the children (espeak-ng may come first)
            while not any(b"skills_child" in cmdline(pid) for pid in children) or await http_status(port) != 503:
                assert proc.returncode is None, "the daemon stopped by itself"
                await asyncio.sleep(0.05)
                children[:] = descendants(proc.pid)
        await asyncio.wait_for(skills_spawned(), 60.0)
        await terminate(proc, children, tmp_path)
        assert "realtime ready" not in (tmp_path / "state" / "mycroft" / "realtime.log").read_text()
    finally:
        await kill_leftovers(proc, children)


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # gone meanwhile
        return b""


def spawned_in(state_dir: Path) -> list[int]:
    """This process's skills services that run in ``state_dir`` (not the test session's own)."""
    home = f"XDG_CONFIG_HOME={state_dir / 'config'}".encode()
    found = []
    for pid in descendants(os.getpid()):
        try:
            if home in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                found.append(pid)
        except OSError:  # gone meanwhile
            continue
    return found


def test_a_stop_while_the_skills_service_is_being_spawned_stops_it(tmp_path: Path) -> None:
    """The race behind a daemon that exited on SIGTERM leaving its skills service running: the start cancelled
    while the spawn, on a worker thread, had not yet recorded the child, and the stop found nothing to stop. Here
    the spawn is held open deterministically: its log is a FIFO, which it opens (before the child is started) only
    once a reader comes."""
    state = tmp_path / "skills"
    state.mkdir()
    log = state / "skills.stdout.log"
    os.mkfifo(log)
    service = SkillsService(SkillsServiceSettings(bus_port=free_port(), state_dir=state, data_dir=tmp_path / "data"))
    reader: int | None = None
    stopper = threading.Thread(target=service.stop)

    async def cancel_the_start_during_the_spawn() -> None:
        nonlocal reader
        start = asyncio.create_task(service.start())
        config = state / "config" / "mycroft" / "mycroft.conf"
        while not config.exists():  # noqa: ASYNC110  (the spawn, on its thread, writes it just before the FIFO)
            await asyncio.sleep(0.01)
        start.cancel()
        with pytest.raises(asyncio.CancelledError):
            await start
        stopper.start()  # the daemon's stop, while the spawn waits on the FIFO
        reader = os.open(log, os.O_RDONLY | os.O_NONBLOCK)  # lets the spawn go on: the child starts

    try:
        asyncio.run(cancel_the_start_during_the_spawn())  # returns once every worker thread (the spawn) has ended
        stopper.join(60.0)
        assert not stopper.is_alive()
        assert not service.running and spawned_in(state) == [], "the skills service outlived its stop"
    finally:
        for pid in spawned_in(state):
            os.kill(pid, signal.SIGKILL)
        if reader is not None:
            os.close(reader)
