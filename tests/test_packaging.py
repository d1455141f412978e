"""The install's declarations, offline: every requirement's pin fits it, the WebRTC call imports, the x86_64-only
engine has its marker and says so when absent. Whether each platform resolves against PyPI is
scripts/check_platforms.py (run by scripts/test.sh)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ovos_realtime_plugin.engines import moonshine_stt
from ovos_realtime_plugin.engines.choice import offline_default

ROOT = Path(__file__).resolve().parent.parent


def requirements() -> list[Requirement]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [Requirement(line) for line in map(str.strip, lines) if line and not line.startswith("#")]


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            found[canonicalize_name(name)] = version.strip()
    return found


def check_platforms() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_platforms", ROOT / "scripts" / "check_platforms.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def target(machine: str, python: str) -> dict[str, str]:
    return {"platform_machine": machine, "python_version": python, "python_full_version": f"{python}.0",
            "implementation_version": f"{python}.0", "implementation_name": "cpython", "sys_platform": "linux",
            "platform_system": "Linux", "platform_python_implementation": "CPython", "os_name": "posix"}


def test_every_requirement_is_pinned_within_its_range() -> None:
    pinned = pins()
    for requirement in requirements():
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement.name} is not pinned in constraints.txt"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (requirement, pinned[name])


def test_the_webrtc_call_imports() -> None:
    importlib.import_module("ovos_realtime_plugin.server.webrtc.call")


def test_webrtc_comes_with_a_plain_install() -> None:
    """``pip install ovos-realtime`` brings aiortc on every platform: no ``--no-deps`` step after it."""
    webrtc = [r for r in requirements() if canonicalize_name(r.name) == "aiortc"]
    assert webrtc and webrtc[0].marker is None


def test_the_installed_set_meets_every_declared_requirement() -> None:
    """What the resolver installed fits every package's own bounds (aiortc's pyee and ovos-bus-client's included),
    so nothing here was installed around the resolver."""
    checked = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(("machine", "python"), [("aarch64", "3.11"), ("aarch64", "3.13"), ("x86_64", "3.11"),
                                                 ("x86_64", "3.13")])
def test_only_moonshine_is_left_out_of_aarch64(machine: str, python: str) -> None:
    left_out = {r.name for r in requirements() if r.marker is not None and not r.marker.evaluate(target(machine,
                                                                                                        python))}
    assert left_out == ({"moonshine-cpp"} if machine == "aarch64" else set())


def test_the_default_engines_do_not_need_moonshine() -> None:
    assert "moonshine" not in offline_default("stt").module
    assert "moonshine" not in offline_default("vad").module


def test_a_missing_moonshine_says_why_and_what_to_choose(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moonshine_stt.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"x86_64 only.*ovos-stt-plugin-whisper-fitted"):
        moonshine_stt.model_dir()


def test_platform_tags_cover_every_glibc_up_to_the_targets() -> None:
    module = check_platforms()
    tags = module.platforms("aarch64", 36)
    assert tags[0] == "manylinux_2_36_aarch64" and "manylinux_2_17_aarch64" in tags
    assert "manylinux2014_aarch64" in tags and not any("x86_64" in tag for tag in tags)
    assert re.fullmatch(r"[\w-]+", module.missing_packages("ERROR: No matching distribution found for fann2==1.0.7")[0])


def test_pip_runs_with_the_targets_markers() -> None:
    """scripts/check_platforms.py patches pip's marker environment; this pip must still take the patch."""
    module = check_platforms()
    run = subprocess.run([sys.executable, "-c", module.PIP_FOR_TARGET, json.dumps(target("aarch64", "3.13")),
                          "--version"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert Marker('platform_machine == "aarch64"').evaluate(target("aarch64", "3.13"))
