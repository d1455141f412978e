"""What the daemon runs, read once at start-up from mycroft.conf and the command line.

``"realtime"`` section of mycroft.conf (every key optional)::

    {"realtime": {
        "host": "127.0.0.1", "port": 60200, "api_keys": [], "lang": "en-US",   // see server/settings.py
        "pipeline": ["stop_high", "padatious_high", ...],  // OVOS intent stages of each session
        "turn_timeout_s": 15,           // a skill that has not finished by then fails the response
        "bus_timeout_s": 30,            // joining a bus: how long to wait for it at start-up
        "responder": "ovos_first",      // with "llm": OVOS intents, then the LLM; or "llm" (llm/settings.py)
        "llm": {"base_url": "http://127.0.0.1:8080/v1", "model": "..."},   // none: OVOS alone answers
        "fallback_priority": 95,        // ovos_first: our place among OVOS's fallback skills (bus/fallback.py)
        "fallback_skill_id": "ovos-realtime.fallback",   // a second daemon on the same bus needs its own
        "standalone": {                 // --standalone only
            "bus_port": 0,              // the embedded messagebus's port; 0: a free one
            "state_dir": "~/.cache/ovos-realtime/skills-service",
            "data_dir": null,           // the skills' XDG_DATA_HOME (padatious cache); default state_dir/data
            "ready_timeout_s": 240,
            "report_offline": true,     // tell the skills there is no internet (no connectivity probes), and
                                        // their HTTP(S) beyond loopback and the LAN fails at once (no DNS)
            "skills_config": {},        // merged over the skills service's mycroft.conf
            "max_restarts": 3,          // a skills service that died is restarted at most 3 times ...
            "restart_window_s": 300,    // ... within 5 min (bus/supervisor.py), ...
            "restart_backoff_s": 1      // ... after 1 s, 2 s, 4 s
        }}}

Without ``--standalone`` the daemon joins the bus of mycroft.conf's ``websocket`` section (or ``--bus``).
With it, ``--bus HOST:PORT`` says where the *embedded* bus listens (loopback only: the bus has no auth).
The embedded bus takes a free port by default, not 8181: a device's own ``ovos-messagebus`` may hold
8181 or start after us, and then the device's services would join our private bus instead of theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ovos_realtime_plugin.bus.assistant_settings import OvosAssistantSettings
from ovos_realtime_plugin.bus.skills_service import SkillsServiceSettings
from ovos_realtime_plugin.engines.speech import shipped_config
from ovos_realtime_plugin.host_locale import local_defaults
from ovos_realtime_plugin.llm.settings import LlmSettings, llm_settings
from ovos_realtime_plugin.merge import deep_merge
from ovos_realtime_plugin.server.settings import LOOPBACK, ServerSettings, from_config

SERVICE = "realtime"
"""The daemon's name: its mycroft.conf section, its log file, its ``mycroft.realtime.is_ready`` status."""
DEFAULT_LANG = "en-US"
DEFAULT_BUS_PORT = 8181
DEFAULT_ROUTE = "/core"
SHARED_SECTIONS = ("lang", "secondary_langs", "location", "system_unit", "time_format", "date_format",
                   "skills", "intents")
"""The user's mycroft.conf sections the standalone skills service gets too (it does not read that file)."""


@dataclass(frozen=True)
class BusAddress:
    host: str = "127.0.0.1"
    port: int = DEFAULT_BUS_PORT
    route: str = DEFAULT_ROUTE

    @classmethod
    def parse(cls, text: str, route: str = DEFAULT_ROUTE) -> BusAddress:
        """``HOST:PORT`` (``[::1]:8181`` for IPv6)."""
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"--bus wants HOST:PORT, not {text!r}")
        return cls(host.strip("[]") or "127.0.0.1", int(port), route)


@dataclass(frozen=True)
class DaemonSettings:
    server: ServerSettings
    assistant: OvosAssistantSettings
    bus: BusAddress
    """The bus to join or, standalone, where the embedded bus listens (port 0: a free one)."""
    skills: SkillsServiceSettings | None = None
    """Standalone: the skills service to run (its bus fields are filled in once the bus listens)."""
    bus_timeout_s: float = 30.0
    llm: LlmSettings | None = None
    """The LLM responder; None: OVOS alone answers."""

    @property
    def standalone(self) -> bool:
        return self.skills is not None


def daemon_settings(conf: Mapping[str, Any], *, standalone: bool = False, host: str | None = None,
                    port: int | None = None, bus: str | None = None, api_keys: list[str] | None = None,
                    lang: str | None = None) -> DaemonSettings:
    """Settings from the merged mycroft.conf; the keyword arguments (the command line) win when given.

    Standalone, a ``location`` and ``lang`` that mycroft.conf leaves as ovos-config ships them are the host's
    (:mod:`ovos_realtime_plugin.host_locale`). Raises ``ValueError`` on a setting that cannot work."""
    if standalone:
        conf = {**conf, **local_defaults(conf, shipped_config())}
    section: Mapping[str, Any] = conf.get(SERVICE) or {}
    lang = lang or section.get("lang") or conf.get("lang") or DEFAULT_LANG
    server = from_config(dict(section), host=host, port=port, api_keys=api_keys, language=lang)
    assistant_values: dict[str, Any] = {"default_lang": lang}
    if standalone and conf.get("location"):
        assistant_values["location"] = conf["location"]  # the skills read the time zone from each session's
    if section.get("pipeline"):
        assistant_values["pipeline"] = tuple(section["pipeline"])
    if "turn_timeout_s" in section:
        assistant_values["turn_timeout_s"] = float(section["turn_timeout_s"])
    if "fallback_priority" in section:
        assistant_values["fallback_priority"] = int(section["fallback_priority"])
    if "early_answer_skills" in section:
        skills = section["early_answer_skills"] or ()
        assistant_values["early_answer_skills"] = frozenset([skills] if isinstance(skills, str) else map(str, skills))
    if section.get("fallback_skill_id"):
        assistant_values["fallback_skill_id"] = str(section["fallback_skill_id"])
    assistant = OvosAssistantSettings(**assistant_values)
    bus_timeout_s = float(section.get("bus_timeout_s", 30.0))
    llm = llm_settings(section)
    if not standalone:
        ws: Mapping[str, Any] = conf.get("websocket") or {}
        route = str(ws.get("route", DEFAULT_ROUTE))
        address = BusAddress.parse(bus, route) if bus else BusAddress(
            str(ws.get("host", "127.0.0.1")), int(ws.get("port", DEFAULT_BUS_PORT)), route)
        return DaemonSettings(server, assistant, address, bus_timeout_s=bus_timeout_s, llm=llm)
    own: Mapping[str, Any] = section.get("standalone") or {}
    address = BusAddress.parse(bus) if bus else BusAddress(port=int(own.get("bus_port", 0)))
    if address.host not in LOOPBACK:
        raise ValueError(f"the embedded messagebus has no auth and listens on loopback only, not {address.host}")
    device = {key: conf[key] for key in SHARED_SECTIONS if key in conf}
    skills = SkillsServiceSettings(
        state_dir=Path(own.get("state_dir") or SkillsServiceSettings().state_dir).expanduser(),
        data_dir=Path(own["data_dir"]).expanduser() if own.get("data_dir") else None,
        config=deep_merge({**device, "lang": lang}, own.get("skills_config") or {}),
        ready_timeout_s=float(own.get("ready_timeout_s", SkillsServiceSettings.ready_timeout_s)),
        report_offline=bool(own.get("report_offline", True)),
        max_restarts=int(own.get("max_restarts", SkillsServiceSettings.max_restarts)),
        restart_window_s=float(own.get("restart_window_s", SkillsServiceSettings.restart_window_s)),
        restart_backoff_s=float(own.get("restart_backoff_s", SkillsServiceSettings.restart_backoff_s)))
    return DaemonSettings(server, assistant, address, skills, bus_timeout_s, llm)
