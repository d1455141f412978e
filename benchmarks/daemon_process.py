"""``ovos-realtime --standalone`` as ``scripts/run.sh`` starts it, for the benchmarks that measure the daemon a user
runs, and what /proc says of a process (CPU time, resident memory, the processes under it).

The daemon gets its own mycroft.conf (the ``"realtime"`` section given, its standalone state in a scratch directory
and the tests' padatious cache) and logs to a file there; stopping it removes the directory.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

READY_TIMEOUT_S = 300.0
TRACED_MAIN = ("import logging, sys; "
               "logging.getLogger('ovos_realtime_plugin.server.voice_trace').setLevel(logging.DEBUG); "
               "from ovos_realtime_plugin.cli import main; sys.exit(main(sys.argv[1:]))")
"""With a trace: the console script's ``main`` with the voice trace's logger at debug level (its lines only)."""


class StandaloneDaemon:
    """One run of the daemon: :meth:`start`, then :attr:`port` and :attr:`pid`, then :meth:`stop`. ``trace``: a file
    the voice trace's lines (``server/voice_trace.py``, one per turn) are appended to when it stops."""

    def __init__(self, section: dict[str, Any] | None = None, args: Sequence[str] = (),
                 trace: str | None = None) -> None:
        self.scratch = tempfile.TemporaryDirectory()
        self.trace = trace
        self.args = list(args)
        tmp = Path(self.scratch.name)
        from tests.fixtures_ovos import CACHE_DIR  # (only here: the /proc helpers need none of the tests' set-up)

        standalone = {"state_dir": str(tmp / "skills"), "data_dir": str(CACHE_DIR / "data")}
        (tmp / "config" / "mycroft").mkdir(parents=True)
        (tmp / "config" / "mycroft" / "mycroft.conf").write_text(
            json.dumps({"realtime": {"standalone": standalone, **(section or {})}}))
        self.log = tmp / "daemon.log"
        self.port = free_port()
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start it and wait until ``/healthz`` answers 200; one that does not start is reported with the end of
        its log."""
        env = {**os.environ, "XDG_CONFIG_HOME": str(Path(self.scratch.name) / "config"),
               "XDG_STATE_HOME": str(Path(self.scratch.name) / "state")}
        script = str(Path(sys.executable).parent / "ovos-realtime")
        daemon = [sys.executable, "-c", TRACED_MAIN] if self.trace else [script]
        with self.log.open("wb") as out:  # its own session: a kill takes its skills service with it
            self.proc = await asyncio.create_subprocess_exec(
                *daemon, "--standalone", "--port", str(self.port), *self.args, env=env, stdout=out,
                stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        try:
            await asyncio.wait_for(healthy(self.port, self.proc), READY_TIMEOUT_S)
        except BaseException as exc:
            said = await asyncio.to_thread(self.log_tail)
            await self.stop()
            if isinstance(exc, Exception):
                raise RuntimeError(f"the daemon did not start ({exc!r}); the end of its log:\n{said}") from exc
            raise

    async def stop(self) -> None:
        """Stop the daemon (SIGTERM, then SIGKILL to its process group after 60 s) and remove its scratch
        directory, whatever interrupts the wait."""
        try:
            if self.proc is not None and self.proc.returncode is None:
                self.proc.terminate()
                try:
                    await asyncio.wait_for(self.proc.wait(), 60)
                finally:
                    if self.proc.returncode is None:
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(self.proc.pid, signal.SIGKILL)
                        await self.proc.wait()
            if self.trace:
                await asyncio.to_thread(self.keep_trace, self.trace)
        finally:
            self.scratch.cleanup()

    def keep_trace(self, path: str) -> None:
        """Append the voice trace's lines of the daemon's log to ``path``."""
        if self.log.exists():
            with open(self.log, errors="replace") as log, open(path, "a") as trace:
                trace.writelines(line for line in log if "voice turn:" in line)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return ""
        with open(self.log, errors="replace") as log:
            return "".join(collections.deque(log, lines))

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def healthy(port: int, proc: asyncio.subprocess.Process) -> None:
    while proc.returncode is None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())  # a Host that names it
            status = await reader.readline()
            writer.close()
            if b" 200 " in status:
                return
        except OSError:
            pass
        await asyncio.sleep(0.5)
    raise RuntimeError(f"the daemon exited with {proc.returncode}")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of ``pid`` so far (0 for a process that has gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def descendants(pid: int) -> list[int]:
    """Every process under ``pid``; one that exits while it is looked at is left out."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:
            continue
        for child in children:
            found += [int(child), *descendants(int(child))]
    return found


def command(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:80]
