"""Loading OPM plugins by name, with a clear error when one cannot load, and no downloads unless allowed."""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger(__name__)


class EngineLoadError(RuntimeError):
    """A configured speech engine could not be loaded; start-up stops with this message."""


def _refuse_download(url: Any, *args: Any, **kwargs: Any) -> Any:
    target = getattr(url, "full_url", url)
    raise OSError(f"ovos-realtime runs offline: refused to fetch {target} "
                  "(set \"allow_downloads\": true in the \"realtime\" section to allow it)")


@contextlib.contextmanager
def downloads_refused(refuse: bool) -> Iterator[None]:
    """While plugins import and construct, ``urllib.request.urlopen`` refuses to fetch.

    The piper plugin fetches its voice list at import with no timeout; a module that binds ``urlopen`` at import
    keeps the refusing one, so such look-ups stay offline for the life of the process.
    """
    if not refuse:
        yield
        return
    real = urllib.request.urlopen
    urllib.request.urlopen = _refuse_download
    try:
        yield
    finally:
        urllib.request.urlopen = real


def no_telemetry() -> None:
    """onnxruntime (Silero, piper) sends usage telemetry from its own threads: turn it off before any session."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    try:
        import onnxruntime  # type: ignore[import-untyped]
    except ImportError:
        return
    onnxruntime.disable_telemetry_events()


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
