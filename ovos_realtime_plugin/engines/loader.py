"""Loading OPM plugins by name, with a clear error when one cannot load, and no downloads unless allowed."""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from ovos_realtime_plugin import patches

log = logging.getLogger(__name__)


class EngineLoadError(RuntimeError):
    """A configured speech engine could not be loaded; start-up stops with this message."""


def downloads_refused(refuse: bool) -> AbstractContextManager[None]:
    """While plugins import and construct, ``urllib.request.urlopen`` refuses to fetch (in a process of ours:
    the registry's ``refuse-downloads``)."""
    return patches.downloads_refused(refuse)


def no_telemetry() -> None:
    """onnxruntime's telemetry off before any session (in a process of ours: the registry's
    ``onnxruntime-telemetry``)."""
    patches.apply_late(patches.ONNX_TELEMETRY)


ENTRY_POINT_GROUPS = {"stt": ("opm.stt", "mycroft.plugin.stt"), "tts": ("opm.tts", "mycroft.plugin.tts"),
                      "vad": ("opm.VAD", "opm.vad", "ovos.plugin.VAD")}
"""OPM's entry point groups per kind, the current name first (the others are older names OPM still reads)."""


def plugin_class(kind: str, module: str) -> Callable[..., Any]:
    """The plugin class registered for ``module`` under OPM's entry points for ``kind`` (stt, tts, vad).

    Only that plugin is imported: OPM's own loader imports every installed plugin of the kind to find one by
    name (with faster-whisper's, PyAV: ~25 MB resident for a plugin not used)."""
    entry = next((ep for group in ENTRY_POINT_GROUPS[kind] for ep in importlib.metadata.entry_points(group=group)
                  if ep.name == module), None)
    try:
        cls = entry.load() if entry is not None else _opm_loader(kind)(module)
    except Exception as exc:
        raise EngineLoadError(f"the {kind.upper()} plugin '{module}' failed to import: {exc}") from exc
    if cls is None:
        raise EngineLoadError(f"the {kind.upper()} plugin '{module}' is not installed "
                              f"(pip install {module}) or does not register an OPM entry point")
    return cls  # type: ignore[no-any-return]


def _opm_loader(kind: str) -> Callable[[str], Any]:
    from ovos_plugin_manager import stt, tts, vad  # type: ignore[import-untyped]

    loaders = {"stt": stt.load_stt_plugin, "tts": tts.load_tts_plugin, "vad": vad.load_vad_plugin}
    return loaders[kind]  # type: ignore[no-any-return]


def construct(kind: str, module: str, build: Callable[[], Any]) -> Any:
    try:
        return build()
    except EngineLoadError:
        raise
    except Exception as exc:
        log.debug("loading %s plugin %s failed", kind, module, exc_info=True)
        raise EngineLoadError(f"the {kind.upper()} plugin '{module}' could not load its model: {exc}") from exc
