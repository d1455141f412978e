"""``scripts/offline.sh``, the check that the test suite (and the daemon) reach nothing beyond loopback: it must see a
DNS query wherever the resolver listens, a loopback stub (systemd-resolved's 127.0.0.53) included, and let loopback
traffic through."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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

