"""``ovos-realtime``: the daemon's command line. Reads mycroft.conf once, sets up logging, runs the
:class:`~ovos_realtime_plugin.daemon.Daemon` until SIGINT/SIGTERM.

Exit status: 0 after a signal, 1 when start-up fails or the skills service dies more often than it may be restarted
(bus/supervisor.py), 2 on bad settings.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import resource
import signal
import sys
from collections.abc import Callable, Mapping
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from ovos_realtime_plugin import heap, patches
from ovos_realtime_plugin.bus.errors import BusError, ServiceExitedError, ServiceStartError
from ovos_realtime_plugin.daemon import Daemon
from ovos_realtime_plugin.daemon_settings import SERVICE, DaemonSettings, daemon_settings
from ovos_realtime_plugin.engines.loader import EngineLoadError
from ovos_realtime_plugin.engines.speech import LoadedSpeech, speech_from_config
from ovos_realtime_plugin.llm.settings import RESPONDERS
from ovos_realtime_plugin.log_repeats import RepeatedLines
from ovos_realtime_plugin.server.settings import DEFAULT_PORT

log = logging.getLogger("ovos_realtime_plugin")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ovos-realtime", description="OpenAI-Realtime-compatible OVOS server")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument("--api-key", action="append", dest="api_keys", help="accepted API key (repeatable)")
    parser.add_argument("--standalone", action="store_true",
                        help="run an embedded messagebus (loopback) and ovos-core's skills service ourselves")
    parser.add_argument("--bus", metavar="HOST:PORT",
                        help="the OVOS messagebus to join (default: mycroft.conf's websocket section); "
                             "with --standalone, where the embedded one listens (default: a free port)")
    parser.add_argument("--lang", help="default language, e.g. en-US (default: mycroft.conf)")
    for kind, default in (("stt", "ovos-stt-plugin-whisper-fitted"), ("tts", "ovos-tts-plugin-piper"),
                          ("vad", "ovos-vad-plugin-silero-v6")):
        parser.add_argument(f"--{kind}", metavar="PLUGIN",
                            help=f"OPM {kind.upper()} plugin to use, or 'none' (default: the \"realtime\" section, "
                                 f"then mycroft.conf, then {default} with its offline model)")
    parser.add_argument("--llm-url", metavar="URL",
                        help="a Chat Completions server for the LLM responder, e.g. http://127.0.0.1:8080/v1 "
                             "(default: the \"realtime\" section's llm; none: OVOS alone answers)")
    parser.add_argument("--llm-model", metavar="NAME", help="the model name to ask that server for")
    parser.add_argument("--responder", choices=RESPONDERS,
                        help="with an LLM: ovos_first (OVOS intents, then the LLM as OVOS's fallback) or llm alone")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING ... (default: mycroft.conf's logging section)")
    return parser.parse_args(argv)


def with_llm_flags(conf: Mapping[str, Any], args: argparse.Namespace) -> Mapping[str, Any]:
    """``conf`` with the LLM flags written into its ``"realtime"`` section (they win over the file)."""
    if args.llm_url is None and args.llm_model is None and args.responder is None:
        return conf
    section = dict(conf.get(SERVICE) or {})
    llm = dict(section.get("llm") or {})
    if args.llm_url is not None:
        llm["base_url"] = args.llm_url
    if args.llm_model is not None:
        llm["model"] = args.llm_model
    section["llm"] = llm
    if args.responder is not None:
        section["responder"] = args.responder
    return {**conf, SERVICE: section}


def mycroft_conf() -> dict[str, Any]:
    """The user's merged mycroft.conf (defaults → system → user), read once."""
    from ovos_config import Configuration  # type: ignore[import-untyped]

    return dict(Configuration())


def setup_logging(level: str | None) -> None:
    """OVOS's service logger (``ovos_utils.log.LOG``, which the OVOS libraries here log through) named
    ``realtime``, and our own loggers to the same places with the same format and level: stdout and
    ``<logs path>/realtime.log`` (``~/.local/state/mycroft/`` unless mycroft.conf's ``logging`` says)."""
    from ovos_utils.log import LOG, init_service_logger

    init_service_logger(SERVICE)
    if level:
        LOG.set_level(level.upper())
    log_like_ovos()
    for name in ("asyncio", "aiohttp", "aiortc", "aioice"):  # a flood's lines (e.g. no descriptors left) once a while
        logging.getLogger(name).addFilter(RepeatedLines())


def raise_descriptor_limit() -> None:
    """The soft file-descriptor limit up to the hard one: the connection bounds are set below it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))
        except (ValueError, OSError) as exc:
            log.info("the descriptor limit stays at %d: %s", soft, exc)


def log_like_ovos() -> None:
    """Our loggers to stdout and ``realtime.log`` with OVOS's format and level (also inside another OVOS
    service, whose logger is already set up)."""
    from ovos_utils.log import LOG

    if log.handlers:
        return
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    if LOG.base_path != "stdout":
        path = Path(LOG.base_path)
        path.mkdir(parents=True, exist_ok=True)
        handlers.append(RotatingFileHandler(path / f"{SERVICE}.log", maxBytes=LOG.max_bytes,
                                            backupCount=LOG.backup_count))
    repeats = RepeatedLines()
    for handler in handlers:
        handler.setFormatter(LOG.formatter)
        handler.addFilter(repeats)
        log.addHandler(handler)
    log.setLevel(LOG.level)
    log.propagate = False


def settings_from(args: argparse.Namespace, conf: Mapping[str, Any]) -> DaemonSettings:
    settings = daemon_settings(with_llm_flags(conf, args), standalone=args.standalone, host=args.host,
                               port=args.port, bus=args.bus, api_keys=args.api_keys, lang=args.lang)
    settings.server.check()
    return settings


async def serve(settings: DaemonSettings, load_speech: Callable[[], LoadedSpeech] | None = None,
                stop: asyncio.Event | None = None) -> int:
    """Run the daemon until ``stop`` is set (default: until SIGINT/SIGTERM); the exit status."""
    daemon = Daemon(settings, load_speech=load_speech)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    try:
        await daemon.run(stop)
    except (ServiceStartError, ServiceExitedError, BusError):  # logged as the daemon's status
        return 1
    except EngineLoadError as exc:
        log.error("cannot start: %s", exc)
        return 1
    log.info("ovos-realtime stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    """The ``ovos-realtime`` process: ours, so the registry's patches go in (never inside ovos-PHAL, which runs
    :func:`serve` alone)."""
    args = parse_args(argv)
    heap.limit_arenas()
    raise_descriptor_limit()
    conf = mycroft_conf()
    setup_logging(args.log_level)
    patches.apply_all(owner="daemon")
    try:
        settings = settings_from(args, conf)
    except ValueError as exc:
        log.error("%s", exc)
        return 2
    return asyncio.run(serve(settings, speech_loader(conf, settings, stt=args.stt, tts=args.tts, vad=args.vad)))


def speech_loader(conf: Mapping[str, Any], settings: DaemonSettings,
                  **overrides: str | None) -> Callable[[], LoadedSpeech]:
    """Loads the speech engines mycroft.conf (and ``overrides``: ``stt``, ``tts``, ``vad``) chooses, once."""
    return functools.partial(speech_from_config, dict(conf), language=settings.server.language, **overrides)


if __name__ == "__main__":
    sys.exit(main())
