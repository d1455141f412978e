"""Load, warm and hand over the speech engines the configuration chose."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from ovos_realtime_plugin import heap
from ovos_realtime_plugin.engines.choice import EngineChoice, SpeechChoices, speech_choices, usable_cores
from ovos_realtime_plugin.engines.loader import downloads_refused, no_telemetry
from ovos_realtime_plugin.engines.spoken import SpokenSentences
from ovos_realtime_plugin.engines.stt import PluginTranscriber
from ovos_realtime_plugin.engines.stt_pool import TranscriberPool, per_server
from ovos_realtime_plugin.engines.tts import PluginSynthesizer
from ovos_realtime_plugin.engines.vad import PluginVad
from ovos_realtime_plugin.engines.worker import Cores
from ovos_realtime_plugin.server.speech_engines import SpeechEngines

log = logging.getLogger(__name__)
Stt = PluginTranscriber | TranscriberPool


@dataclass
class LoadedSpeech:
    """The loaded engines, as the server takes them, and their threads to close at shut-down."""

    engines: SpeechEngines
    stt: Stt | None
    tts: PluginSynthesizer | None
    vad: PluginVad | None
    transcription_models: dict[str, Stt] = field(default_factory=dict)
    spoken: SpokenSentences | None = None
    """The sentences made once for everyone (the server's TTS, in front of :attr:`tts`), when kept at all."""

    def close(self) -> None:
        models = {id(stt): stt for stt in self.transcription_models.values() if stt is not self.stt}
        for engine in (self.spoken, self.stt, self.tts, self.vad, *models.values()):
            if engine is not None:
                engine.close()


def _load_stt(choice: EngineChoice, choices: SpeechChoices, cores: Cores) -> Stt:
    """One STT: a plugin, or one per server when it names several (engines/stt_pool.py)."""
    servers = per_server(choice) if choices.spread_stt_servers else []
    stt = (TranscriberPool.load(servers, choices.language) if servers
           else PluginTranscriber.load(choice, choices.language, cores))
    stt.timeout_s = choices.timeouts.stt_s
    stt.bound_queue(choices.timeouts.queue_s)
    return stt


def _load_transcription_models(choices: SpeechChoices, default: Stt | None, cores: Cores) -> dict[str, Stt]:
    """Each model name's STT, one per distinct plugin and settings (the default's when it is the same)."""
    loaded: dict[str, Stt] = {}
    models: dict[str, Stt] = {}
    for name, choice in choices.transcription_models.items():
        if default is not None and choice == choices.stt:
            models[name] = default
            continue
        key = json.dumps([choice.module, choice.config], sort_keys=True, default=str)
        if key not in loaded:
            loaded[key] = _load_stt(choice, choices, cores)
        models[name] = loaded[key]
    return models


def load_speech_engines(choices: SpeechChoices, warm: bool = True) -> LoadedSpeech:
    """Load every chosen engine (raising ``EngineLoadError`` with a clear message) and warm it."""
    stt = tts = vad = None
    started = time.perf_counter()
    no_telemetry()
    with downloads_refused(not choices.allow_downloads):
        timeouts = choices.timeouts
        cores = Cores(usable_cores())  # shared by the engines that compute here and take several calls at once
        if choices.stt is not None:
            stt = _load_stt(choices.stt, choices, cores)
        models = _load_transcription_models(choices, stt, cores)
        if choices.tts is not None:
            tts = PluginSynthesizer.load(choices.tts, choices.language, choices.voices, cores)
            tts.timeout_s = timeouts.tts_s
            tts.bound_queue(timeouts.queue_s)
        if choices.vad is not None:
            vad = PluginVad.load(choices.vad)
            vad.timeout_s = timeouts.vad_s
    spoken = SpokenSentences(tts, choices.tts_cache_bytes) if tts is not None and choices.tts_cache_bytes else None
    loaded = LoadedSpeech(SpeechEngines(stt=stt, tts=spoken or tts, new_vad=vad.new_detector if vad else None,
                                        language=choices.language, transcription_models=models),
                          stt, tts, vad, models, spoken)
    if warm:
        for transcriber in {id(t): t for t in (stt, *models.values()) if t is not None}.values():
            transcriber.warm(choices.language)
        if tts is not None:
            tts.warm(choices.language)
    heap.trim()  # what loading the models left behind
    log.info("speech engines ready in %.2f s: STT %s, TTS %s, VAD %s, transcription models %s",
             time.perf_counter() - started, stt.module if stt else "off", tts.module if tts else "off",
             vad.module if vad else "off", {name: t.module for name, t in models.items()} or "none")
    return loaded


def shipped_config() -> dict[str, Any]:
    """ovos-config's own defaults, to tell a device's deliberate choice from what merely ships."""
    from ovos_config.locations import DEFAULT_CONFIG  # type: ignore[import-untyped]
    from ovos_config.models import LocalConf  # type: ignore[import-untyped]

    return dict(LocalConf(DEFAULT_CONFIG))


def speech_from_config(conf: dict[str, Any], **overrides: str | None) -> LoadedSpeech:
    return load_speech_engines(speech_choices(conf, shipped_config(), **overrides))
