"""Launch ovos-core's skills service (``python -m ovos_core --disable-installer``, by way of
:mod:`ovos_realtime_plugin.skills_child`) on a given bus.

ovos-config has no command-line switch for the bus address: every OVOS process reads
``websocket.{host,port,route}`` from the layered ``mycroft.conf`` (bundled defaults →
``/etc/mycroft`` → ``$XDG_CONFIG_HOME/mycroft/mycroft.conf``). So the child gets its own XDG
homes under ``state_dir`` and a generated ``mycroft.conf`` there::

    state_dir/config/mycroft/mycroft.conf   websocket section (+ settings.config); skill settings
    state_dir/data/mycroft/intent_cache     padatious models — kept, so a warm start takes ~10 s, not ~70 s
                                            (``data_dir`` puts XDG_DATA_HOME elsewhere, e.g. shared)
    state_dir/state/mycroft/skills.log      OVOS's own log;  state_dir/skills.stdout.log: the child's output
    state_dir/entrypoints/                  a generated dist-info that makes ``extra_skills`` loadable

The user's own ``~/.config/mycroft/mycroft.conf`` is *not* read by the child; pass what matters
in ``settings.config``. ``HF_HUB_OFFLINE=1`` is set unless given: the ovos-m2v pipeline plugin
otherwise retries a HuggingFace download for ~25 s at every start (and then fails anyway offline).

With ``report_offline`` the child's HTTP(S) goes nowhere either (:data:`OFFLINE_PROXY`): being told there is no
internet does not stop a loaded skill from asking it. The date-time skill (1.1.5) geocodes every place it is asked
about ("what time is it in paris") with ``geocoder.osm``, a ``requests`` call to nominatim.openstreetmap.org, before
its offline fallbacks (its own table, then pytz names); it has no setting to skip that. Offline, that was a DNS
look-up per answer (two per time question: the spoken and the displayed time), and where the resolver does not
answer, seconds of waiting. The standard proxy variables point every client that honours them (requests, urllib,
websocket-client) at port 0 of loopback, where nothing can listen: the connection is refused at once, no name is
resolved, and the skill falls back as it does without a network. Loopback and the LAN (private addresses,
``*.local``) stay direct.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ovos_realtime_plugin.bus import names
from ovos_realtime_plugin.bus.client import BusConnection, BusMessage
from ovos_realtime_plugin.bus.errors import BusError, ServiceStartError
from ovos_realtime_plugin.merge import deep_merge

logger = logging.getLogger(__name__)
CHILD = "ovos_realtime_plugin.skills_child"  # ovos-core's ``python -m ovos_core``, per-utterance costs removed
OFFLINE_PROXY = "http://127.0.0.1:0"
"""Where the child's HTTP(S) beyond the LAN goes with ``report_offline``: a port nothing can listen on."""
DIRECT = ("localhost", "127.0.0.1", "127.0.0.0/8", "::1", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
          "169.254.0.0/16", ".local")
"""What stays direct (``no_proxy``): loopback, where the bus and a local LLM listen, and the LAN."""


def offline_env(bus_host: str) -> dict[str, str]:
    """The proxy variables that keep the child's HTTP(S) off the internet (lower and upper case: clients differ
    in which they read, and the lower-case ones win where both are set)."""
    direct = ",".join(dict.fromkeys((*DIRECT, bus_host)))
    return {name: value for key, value in (("http_proxy", OFFLINE_PROXY), ("https_proxy", OFFLINE_PROXY),
                                           ("no_proxy", direct))
            for name in (key, key.upper())}


@dataclass(frozen=True)
class SkillsServiceSettings:
    bus_host: str = "127.0.0.1"
    bus_port: int = 8181
    bus_route: str = "/core"
    state_dir: Path = field(default_factory=lambda: Path("~/.cache/ovos-realtime/skills-service").expanduser())
    data_dir: Path | None = None
    """The child's XDG_DATA_HOME, where the padatious intent cache lives; default ``state_dir/data``.
    Several services (or test runs) may share one, each with its own ``state_dir``."""
    config: Mapping[str, Any] = field(default_factory=dict)
    """Merged (deeply) over the generated mycroft.conf."""
    extra_skills: Mapping[str, str] = field(default_factory=dict)
    """``{skill_id: "module:SkillClass"}`` to load besides the installed skills (module on ``pythonpath``)."""
    pythonpath: tuple[Path, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    python: str = sys.executable
    ready_timeout_s: float = 240.0
    report_offline: bool = False
    """Answer the start-up ``ovos.PHAL.internet_check`` with "offline" (no ovos-PHAL here): saves its
    3 s wait. Skills that need the network then do not load, and the others' HTTP(S) beyond loopback and the
    LAN fails at once instead of looking names up (:func:`offline_env`)."""
    max_restarts: int = 3
    """The standalone daemon restarts a service that died at most this often within ``restart_window_s``
    (:mod:`.supervisor`); one more exit in the window stops the daemon."""
    restart_window_s: float = 300.0
    restart_backoff_s: float = 1.0
    """The pause before a restart, doubled for each restart already in the window."""


class SkillsService:
    """The ovos-core skills service as a child process."""

    def __init__(self, settings: SkillsServiceSettings):
        self.settings = settings
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        """Held by a spawn and a stop, each on a worker thread: a stop waits for a spawn under way to record its
        child (and then stops it), and a spawn asked for before a stop (its start cancelled) starts nothing."""
        self._generation = 0
        """Counts the stops; a spawn runs only if no stop came since its start asked for it."""

    @property
    def stdout_log(self) -> Path:
        return self.settings.state_dir / "skills.stdout.log"

    @property
    def pid(self) -> int | None:
        """The child's process id while it is started (until :meth:`stop`)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    async def start(self) -> None:
        """Spawn the service and wait until ``mycroft.skills.is_ready`` answers true.

        The messagebus must already be up. Raises :class:`ServiceStartError` (the child is stopped).
        Cancelled, even while the child is being spawned, it leaves nothing that :meth:`stop` does not stop.
        """
        await asyncio.to_thread(self._spawn, self._generation)
        try:
            await self.wait_ready(self.settings.ready_timeout_s)
        except BaseException:
            await asyncio.to_thread(self.stop)
            raise

    async def wait_ready(self, timeout: float) -> None:
        """Wait until the (already started) service reports ready, e.g. again after a bus restart.

        Works for a service someone else started too (a device's ovos-core): then only the bus is asked."""
        s = self.settings
        bus = BusConnection(s.bus_host, s.bus_port, s.bus_route, source="ovos-realtime-launcher")
        initialized = asyncio.Event()

        def on_default(msg: BusMessage) -> None:
            if msg.type == names.INTERNET_CHECK and s.report_offline:
                bus.reply(msg, {"internet_connected": False, "network_connected": False})
            elif msg.type == names.SKILLS_INITIALIZED:
                initialized.set()

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            await bus.connect(timeout=min(timeout, 10.0))
            bus.subscribe("default", on_default)
            while True:
                self._check_alive()
                try:
                    reply = await bus.request(names.SKILLS_IS_READY, timeout=1.0)
                except BusError:  # the bus restarts under us: keep trying until the deadline
                    reply = None
                if reply is not None and reply.data.get("status"):
                    return
                if loop.time() >= deadline:
                    raise ServiceStartError(f"OVOS skills service not ready within {timeout:g} s; see "
                                            f"{self.stdout_log}:\n{self._log_tail()}")
                with contextlib.suppress(asyncio.TimeoutError):  # the pause between polls ends on the real event
                    await asyncio.wait_for(initialized.wait(), 1.0)
        except BusError as exc:
            raise ServiceStartError(f"OVOS skills service: {exc}") from exc
        finally:
            await bus.close()

    async def wait_exit(self) -> int:
        """Wait until the child exits (by itself, or after :meth:`stop`); its exit status."""
        proc = self._proc
        if proc is None:
            raise ServiceStartError("the OVOS skills service was not started")
        return await asyncio.to_thread(proc.wait)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (OVOS shuts its skills down cleanly), then SIGKILL after ``timeout``; returns once the child
        has exited and been reaped, also when a cancelled :meth:`start` was still spawning it, or another stop
        was already under way."""
        with self._lock:
            self._generation += 1
            proc, self._proc = self._proc, None
            if proc is None or proc.poll() is not None:
                return
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning("OVOS skills service (pid %d) ignored SIGTERM; killing it", proc.pid)
                proc.kill()
                proc.wait(timeout)

    # --- helpers -------------------------------------------------------------------------
    def _spawn(self, generation: int) -> None:
        with self._lock:
            if generation == self._generation and not self.running:
                self._spawn_now()

    def _spawn_now(self) -> None:
        s = self.settings
        homes = {name: s.state_dir / sub for name, sub in
                 (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_STATE_HOME", "state"),
                  ("XDG_CACHE_HOME", "cache"))}
        if s.data_dir is not None:
            homes["XDG_DATA_HOME"] = s.data_dir
        for path in homes.values():
            (path / "mycroft").mkdir(parents=True, exist_ok=True)
        config = deep_merge({"websocket": {"host": s.bus_host, "port": s.bus_port, "route": s.bus_route,
                                           "shared_connection": True}}, s.config)
        (homes["XDG_CONFIG_HOME"] / "mycroft" / "mycroft.conf").write_text(json.dumps(config, indent=2))
        pythonpath = [str(p) for p in s.pythonpath]
        if s.extra_skills:
            pythonpath.insert(0, str(self._write_entry_points()))
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "MALLOC_ARENA_MAX": "2",  # see ovos_realtime_plugin.heap
               **(offline_env(s.bus_host) if s.report_offline else {}),
               **{k: str(v) for k, v in homes.items()}, **s.env}
        if pythonpath:
            env["PYTHONPATH"] = os.pathsep.join([*pythonpath, *filter(None, [os.environ.get("PYTHONPATH")])])
        with self.stdout_log.open("wb") as log:
            self._proc = subprocess.Popen([s.python, "-m", CHILD, "--disable-installer"], env=env,
                                          stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True)
        logger.info("OVOS skills service started (pid %d) on ws://%s:%d%s", self._proc.pid,
                    s.bus_host, s.bus_port, s.bus_route)

    def _write_entry_points(self) -> Path:
        """A dist-info whose ``opm.skill`` entry points name ``extra_skills`` (what OPM scans for)."""
        root = self.settings.state_dir / "entrypoints"
        shutil.rmtree(root, ignore_errors=True)
        dist = root / "ovos_realtime_extra_skills-0.0.0.dist-info"
        dist.mkdir(parents=True)
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ovos-realtime-extra-skills\nVersion: 0.0.0\n")
        lines = [f"{skill_id} = {target}" for skill_id, target in self.settings.extra_skills.items()]
        (dist / "entry_points.txt").write_text("[opm.skill]\n" + "\n".join(lines) + "\n")
        return root

    def _check_alive(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            code = self._proc.returncode
            raise ServiceStartError(f"OVOS skills service exited with status {code}; see {self.stdout_log}:\n"
                                    f"{self._log_tail()}")

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = self.stdout_log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
