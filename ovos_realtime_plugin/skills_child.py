"""The embedded skills service: ovos-core's own ``python -m ovos_core``, four per-utterance costs removed first.

Two OVOS helpers walk the stack with ``inspect.stack()``, which reads the source of every frame: ``LOG`` (to
name its caller) and ``dig_for_message`` (to find the message being handled). ovos-core calls both on every
utterance. Measured with py-spy on "what time is it": ``LOG`` was 28 % of the intent service's time, and
``dig_for_message`` 76 % of the date-time skill's handler. The third is padatious's thread pool per utterance,
the fourth websocket-client's UTF-8 check of every bus message, byte by byte in Python (the service's CPU per
answered turn went from 31 to 25 ms). All four are patches of the registry (:mod:`ovos_realtime_plugin.patches`),
applied here because this process is ours; everything else is ovos-core's own entry point, arguments included.

    python -m ovos_realtime_plugin.skills_child --disable-installer
"""

from __future__ import annotations

import runpy

from ovos_realtime_plugin import patches

if __name__ == "__main__":
    patches.apply_all(owner="skills")
    runpy.run_module("ovos_core", run_name="__main__", alter_sys=True)
