"""``scripts/offline.sh``, the check that the test suite (and the daemon) reach nothing beyond loopback: it must see a
DNS query wherever the resolver listens, a loopback stub (systemd-resolved's 127.0.0.53) included, and let loopback
traffic through. And the skills service, told it is offline, looks no name up when a skill wants the internet."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ovos_realtime_plugin.bus.assistant import OvosAssistant
from ovos_realtime_plugin.bus.client import BusConnection
from tests.fixtures_ovos import TIME_LIKE, OvosStack
from tests.test_bus_assistant import answer, new_session_id, request

OFFLINE_SH = Path(__file__).parents[1] / "scripts" / "offline.sh"
DNS_QUERY = ("import socket, struct\n"
             "query = struct.pack('>6H', 0x1234, 0x0100, 1, 0, 0, 0) + b'\\x07example\\x03org\\x00' + "
             "struct.pack('>2H', 1, 1)\n")
LOOKUPS = {
    "udp-sendto-127.0.0.53": DNS_QUERY + "socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(query, "
                                         "('127.0.0.53', 53))",
    "udp-connect-127.0.0.1": DNS_QUERY + "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                                         "s.connect(('127.0.0.1', 53)); s.send(query)",
    "udp-sendto-::1": DNS_QUERY + "socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(query, ('::1', 53))",
    "tcp-connect-127.0.0.53": "import socket\ntry:\n    socket.create_connection(('127.0.0.53', 53), 5)\n"
                              "except ConnectionRefusedError:\n    pass",
}
LOOPBACK_TCP = """
import socket
server = socket.create_server(('127.0.0.1', 0))
client = socket.create_connection(server.getsockname())
peer, _ = server.accept()
client.sendall(b'ping')
assert peer.recv(4) == b'ping'
"""


@pytest.fixture(scope="module")
def offline_sh() -> Path:
    """offline.sh, or a skip when this machine cannot run it (no strace, no network namespaces)."""
    if shutil.which("strace") is None or shutil.which("unshare") is None:
        pytest.skip("offline.sh needs strace and unshare (apt-get install -y strace util-linux)")
    probe = subprocess.run([str(OFFLINE_SH), "true"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip(f"offline.sh cannot make a network namespace here (root or user namespaces needed): "
                    f"{probe.stderr.strip()[-300:]}")
    return OFFLINE_SH


def offline(offline_sh: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(offline_sh), sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("code", LOOKUPS.values(), ids=LOOKUPS.keys())
def test_a_dns_query_to_a_loopback_resolver_fails_the_run(offline_sh: Path, code: str) -> None:
    done = offline(offline_sh, code)
    assert done.returncode == 3, done.stderr
    assert "attempt(s) to reach beyond loopback or a DNS resolver" in done.stderr, done.stderr
    assert "htons(53)" in done.stderr or ":53]>" in done.stderr, done.stderr


def test_loopback_tcp_passes_with_the_command_s_own_status(offline_sh: Path) -> None:
    done = offline(offline_sh, LOOPBACK_TCP)
    assert done.returncode == 0, done.stderr
    assert "no attempt to reach beyond loopback, no DNS query" in done.stderr
    assert offline(offline_sh, LOOPBACK_TCP + "raise SystemExit(7)").returncode == 7


async def test_the_skills_told_they_are_offline_look_no_name_up(ovos_stack: OvosStack, ovos_bus: BusConnection,
                                                               tmp_path: Path) -> None:
    """The date-time skill geocodes a place with nominatim.openstreetmap.org before its offline fallbacks: traced
    while it answers, the skills service (``report_offline``) sends nothing to port 53 nor beyond loopback."""
    pid = ovos_stack.skills.pid
    assert pid is not None and ovos_stack.skills.settings.report_offline
    if shutil.which("strace") is None:
        pytest.skip("needs strace (apt-get install -y strace)")
    trace = await asyncio.create_subprocess_exec(
        "strace", "-f", "-yy", "-e", "trace=connect,sendto,sendmsg,sendmmsg", "-o", str(tmp_path / "trace"),
        "-p", str(pid), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    assert trace.stderr is not None
    try:
        line = (await trace.stderr.readline()).decode()  # "Process N attached with M threads": all of them
        if "attached" not in line:
            pytest.skip(f"cannot trace the skills service here (ptrace): {line.strip()}")
        reply = await answer(OvosAssistant(ovos_bus), request("what time is it in paris", new_session_id()))
    finally:
        trace.terminate()  # detaches; the service goes on
        await trace.communicate()
    out = (tmp_path / "trace").read_text(errors="replace")
    assert TIME_LIKE.search(reply), reply
    sends = [line for line in out.splitlines() if "(" in line and "resumed" not in line]
    dns = [line for line in sends if "htons(53)" in line or ":53]>" in line]
    remote = [line for line in sends if "sa_family=AF_INET" in line and 'inet_addr("127.' not in line
              and '"::1"' not in line]
    assert dns == [] and remote == [], "\n".join(dns + remote)[:2000]
    assert any("htons(0)" in line for line in sends), "the skill did not try the internet (no proxy connect)"
