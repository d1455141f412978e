"""Every runtime patch of another library, in one registry, applied only in processes this project owns.

Each :class:`~.registry.Patch` says what it replaces (``module.attribute``), why, the versions of its distribution
it was checked on, and how to apply it; on any other version it is refused (logged once at WARNING) and the library
runs as it ships. :func:`apply_all` is called once by the daemon's command line (``cli.main``) and by the skills
child (``skills_child``); nothing here is applied on import, and nothing inside ``ovos-PHAL``, where the device's
other plugins share these libraries: a server hosted there runs without them (slower, as described in each).

Configuration that is really per connection (aioice's host addresses and UDP ports for WebRTC) is no patch: it is
set on each call's own ICE connection (``server/webrtc/ice.py``).
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from ovos_realtime_plugin.patches import (
    downloads,
    onnx_telemetry,
    ovos_frames,
    ovos_log,
    padatious,
    piper_espeak,
    ws_utf8,
)
from ovos_realtime_plugin.patches.registry import APPLIED, PYTHON, Owner, Patch, refusal

__all__ = ["REGISTRY", "Owner", "Patch", "apply_all", "apply_late", "downloads_refused", "refusal"]

DAEMON: frozenset[Owner] = frozenset({"daemon"})
SKILLS: frozenset[Owner] = frozenset({"skills"})
BOTH: frozenset[Owner] = DAEMON | SKILLS

OVOS_LOG = Patch(
    "ovos-log-caller", "ovos_utils.log", "LOG._get_real_logger", "ovos-utils", ("0.8", "0.9"),
    "LOG names its caller through inspect.stack(), ~10 ms a call (once per sentence for piper, per utterance "
    "in the intent service)", BOTH, ovos_log.cheap_caller_names)
DIG_FOR_MESSAGE = Patch(
    "ovos-dig-for-message", "ovos_bus_client.message", "dig_for_message", "ovos-bus-client", ("1.5", "1.6"),
    "it walks the stack through inspect.stack(): 76 % of the date-time skill's handler", SKILLS,
    ovos_frames.cheap_message_digging)
PADATIOUS_INLINE = Patch(
    "padatious-inline", "ovos_padatious.intent_manager", "ThreadPoolExecutor", "ovos-padatious", ("1.4", "1.5"),
    "a thread pool started per utterance: 40 % of the intent service's time", SKILLS,
    padatious.match_intents_inline)
WS_UTF8 = Patch(
    "websocket-utf8", "websocket._abnf", "validate_utf8", "websocket-client", ("1.9", "1.10"),
    "every bus message's UTF-8 checked byte by byte in Python, ~0.46 ms per 1 KB", BOTH, ws_utf8.fast_utf8_check)
PIPER_ESPEAK = Patch(
    "piper-espeak-programs", "ovos_tts_plugin_piper.espeak_wrapper", "EspeakPhonemizer.phonemize_string",
    "ovos-tts-plugin-piper", ("0.2.5", "0.2.6"),
    "one espeak-ng program started per clause, ~19 ms each; a long-lived one answers in ~2 ms", DAEMON,
    piper_espeak.use_long_lived_programs, late=True)
ONNX_TELEMETRY = Patch(
    "onnxruntime-telemetry", "onnxruntime", "disable_telemetry_events", "onnxruntime", ("1.16", "2"),
    "usage telemetry sent from onnxruntime's own threads; this server runs offline", DAEMON,
    onnx_telemetry.no_telemetry, late=True)
REFUSE_DOWNLOADS = Patch(
    "refuse-downloads", "urllib.request", "urlopen", PYTHON, ("3.10", "3.14"),
    "plugins fetch while they load (piper its voice list, with no timeout): refused unless allow_downloads",
    DAEMON, lambda: None, late=True)

REGISTRY: tuple[Patch, ...] = (OVOS_LOG, DIG_FOR_MESSAGE, PADATIOUS_INLINE, WS_UTF8, PIPER_ESPEAK, ONNX_TELEMETRY,
                               REFUSE_DOWNLOADS)


def apply_all(owner: Owner) -> list[str]:
    """Mark this process as ``owner``'s and apply its patches (those applied where they are needed wait for
    :func:`apply_late`); the names of those now in place. Call once, at the start of the process."""
    APPLIED.owner = owner
    return [patch.name for patch in REGISTRY if owner in patch.owners and not patch.late and APPLIED.apply(patch)]


def apply_late(patch: Patch) -> bool:
    """Apply a patch whose module is only now imported, if this process is one of its owners' (idempotent);
    whether it is in place."""
    return APPLIED.apply(patch)


def downloads_refused(refuse: bool) -> AbstractContextManager[None]:
    """While in the block, plugins cannot fetch (``refuse``, and a process of ours: see :data:`REFUSE_DOWNLOADS`)."""
    return downloads.urlopen_refused(lambda: refuse and APPLIED.apply(REFUSE_DOWNLOADS))
