"""A stand-in for ``ovos-PHAL`` hosting the plugin, run as ``python -m tests.phal_host <port>``.

It notes every patch target of the registry (and aioice's, which WebRTC calls configure per call), loads the
plugin as ovos-PHAL does, prints ``SERVING`` once /healthz answers, and after a line on stdin prints ``CHANGED``
and, as JSON, the targets that are no longer what they were; then it stops the plugin."""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from typing import Any

from ovos_utils.fakebus import FakeBus  # type: ignore[import-untyped]

from ovos_realtime_plugin.patches import REGISTRY
from ovos_realtime_plugin.patches.registry import resolve
from ovos_realtime_plugin.phal import RealtimePhalPlugin

EXTRA = [("aioice.ice", "get_host_addresses"), ("aioice.ice", "Connection.get_component_candidates")]


def targets() -> dict[str, Any]:
    found = {patch.target: patch.current() for patch in REGISTRY}
    found.update({f"{module}.{attribute}": resolve(module, attribute) for module, attribute in EXTRA})
    return found


def main(port: int) -> None:
    before = targets()
    plugin = RealtimePhalPlugin(bus=FakeBus())
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or not plugin.is_alive():
            raise SystemExit("the plugin did not serve")
        time.sleep(0.2)
    print("SERVING", flush=True)
    sys.stdin.readline()
    after = targets()
    print("CHANGED", json.dumps(sorted(name for name in before if after[name] is not before[name])), flush=True)
    plugin.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]))
