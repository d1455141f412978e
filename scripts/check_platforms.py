#!/usr/bin/env python3
"""Checks that `pip install ovos-realtime` resolves on every platform the README names, against the pins.

For each target (Linux aarch64 and x86_64; CPython 3.11 with glibc 2.36 as on Raspberry Pi OS / Debian bookworm,
CPython 3.13 with glibc 2.41 as on trixie) pip resolves ``-c constraints.txt -r requirements.txt`` with
``--dry-run --only-binary=:all: --platform … --python-version …``, from PyPI alone (``--isolated``: no local
mirror or wheel folder): every pinned package must have a file that installs there. Nothing is installed.

What plain ``pip --platform`` gets wrong, and how it is handled here:

* **Environment markers.** pip evaluates markers (``platform_machine``, ``python_version``) for the machine it
  runs on, not for ``--platform``/``--python-version``. So pip runs with its marker environment set to the target's
  (the one function ``packaging.markers`` reads it from), and the script checks that the patch took.
* **Packages published as an sdist only.** ``--only-binary=:all:`` refuses them, though many install anywhere.
  Each one the resolution stops at is built here (``pip wheel --no-deps``, once; cached in
  ``$XDG_CACHE_HOME/ovos-realtime/platform-check``) and classified:

  - it builds a pure wheel (``*-none-any``): that wheel is offered to the resolution;
  - it builds with the C compiler disabled (``CC=false CXX=false``; its native part is optional, e.g.
    timezonefinder's cffi extension): a metadata-only stand-in carrying the sdist's own metadata is offered;
  - it is declared in ``BUILT_FROM_SOURCE`` (native code, no wheel on PyPI for any platform, built on every
    machine with the system packages named there): a stand-in likewise, and the output says what it needs;
  - anything else fails the check: a device without a compiler could not install it.

Usage: ``scripts/check_platforms.py [--target NAME ...]``; exit 0 when every target resolves.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "constraints.txt"
REQUIREMENTS = ROOT / "requirements.txt"

# name: (machine, python, glibc minor): Raspberry Pi OS bookworm has Python 3.11 and glibc 2.36, trixie 3.13 and 2.41
TARGETS: dict[str, tuple[str, str, int]] = {
    "aarch64-cp311": ("aarch64", "3.11", 36),
    "aarch64-cp313": ("aarch64", "3.13", 41),
    "x86_64-cp311": ("x86_64", "3.11", 36),
    "x86_64-cp313": ("x86_64", "3.13", 41),
}

# Native code and no wheel on PyPI for any platform: built from the sdist on every machine, x86_64 included.
# name -> what the build needs (Debian packages). fann2: FANN bindings for OVOS's padatious intent engine
# (ovos-core[lgpl] -> ovos-padatious); an OVOS device set up by ovos-installer has it built already.
BUILT_FROM_SOURCE = {"fann2": "swig libfann-dev g++ python3-dev"}

PURE = "pure wheel built from its sdist"
OPTIONAL_NATIVE = "sdist whose native part is optional"
DECLARED = "built from source (declared)"

# Runs pip with its marker environment replaced by the target's (argv[1], JSON); the rest of argv is pip's.
PIP_FOR_TARGET = r"""
import json, sys
from pip._vendor.packaging import markers
target = json.loads(sys.argv[1])
host = markers.default_environment
markers.default_environment = lambda: {**host(), **target}
probe = markers.Marker('platform_machine == "%s" and python_version == "%s"'
                       % (target["platform_machine"], target["python_version"]))
if not probe.evaluate():
    sys.exit("check_platforms: could not set pip's marker environment (pip changed?)")
from pip._internal.cli.main import main
sys.exit(main(sys.argv[2:]))
"""
PIP = ["--isolated", "--disable-pip-version-check", "--no-input"]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins() -> dict[str, str]:
    found = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            found[canonical(name)] = version.split(";", 1)[0].strip()
    return found


def platforms(machine: str, glibc_minor: int) -> list[str]:
    """Every manylinux tag a glibc of that version runs (pip does not widen ``--platform manylinux_2_X`` itself)."""
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(glibc_minor, 16, -1)] + [f"manylinux2014_{machine}"]
    if machine == "x86_64":
        tags += ["manylinux2010_x86_64", "manylinux1_x86_64"]
    return tags


def marker_environment(machine: str, python: str) -> dict[str, str]:
    full = f"{python}.0"
    return {"platform_machine": machine, "python_version": python, "python_full_version": full,
            "implementation_version": full, "implementation_name": "cpython",
            "platform_python_implementation": "CPython", "sys_platform": "linux", "platform_system": "Linux",
            "os_name": "posix"}


def pip(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def resolve(target: str, found: Path) -> tuple[dict[str, Any] | None, str]:
    """pip's dry-run for one target: (its report, or None when it failed; pip's output)."""
    machine, version, glibc = TARGETS[target]
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        args = ["install", *PIP, "--dry-run", "--ignore-installed", "--report", str(report),
                "--target", str(Path(tmp) / "target"), "--only-binary=:all:", "--implementation", "cp",
                "--python-version", version, *[arg for tag in platforms(machine, glibc) for arg in ("--platform", tag)],
                "--find-links", str(found), "-c", str(CONSTRAINTS), "-r", str(REQUIREMENTS)]
        run = subprocess.run([sys.executable, "-c", PIP_FOR_TARGET, json.dumps(marker_environment(machine, version)),
                              *args], capture_output=True, text=True)
        output = run.stdout + run.stderr
        if run.returncode != 0 or not report.exists():
            return None, output
        return json.loads(report.read_text()), output


def missing_packages(output: str) -> list[str]:
    """The pinned packages pip found no usable file for: named as missing, or as the pin in a conflict."""
    found = re.findall(r"No matching distribution found for ([A-Za-z0-9][A-Za-z0-9._-]*)", output)
    found += re.findall(r"The user requested \(constraint\) ([A-Za-z0-9][A-Za-z0-9._-]*)==", output)
    return [canonical(name) for name in found]


def sdist_metadata(package: str, version: str) -> dict[str, Any] | str:
    """The sdist's core metadata as pip reads it (pip runs its build backend for that), or why there is none."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        run = pip("install", *PIP, "--dry-run", "--ignore-installed", "--quiet", "--no-deps", "--no-binary", ":all:",
                  "--report", str(report), f"{package}=={version}")
        if not report.exists():
            return "no wheel for this platform, and no sdist whose metadata pip can read: " + \
                " / ".join((run.stdout + run.stderr).strip().splitlines()[-2:])
        metadata: dict[str, Any] = json.loads(report.read_text())["install"][0]["metadata"]
        return metadata


def stand_in(metadata: dict[str, Any], found: Path) -> None:
    """A wheel holding only the sdist's metadata (name, version, Requires-Python, Requires-Dist), for resolving."""
    name, version = metadata["name"], metadata["version"]
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if metadata.get("requires_python"):
        lines.append(f"Requires-Python: {metadata['requires_python']}")
    lines += [f"Provides-Extra: {extra}" for extra in metadata.get("provides_extra") or []]
    lines += [f"Requires-Dist: {requirement}" for requirement in metadata.get("requires_dist") or []]
    info = f"{canonical(name).replace('-', '_')}-{version}.dist-info"
    with zipfile.ZipFile(found / f"{canonical(name).replace('-', '_')}-{version}-py3-none-any.whl", "w") as wheel:
        wheel.writestr(f"{info}/METADATA", "\n".join(lines) + "\n")
        wheel.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: check_platforms (stand-in)\n"
                                        "Root-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr(f"{info}/RECORD", "")


def build(package: str, version: str, directory: Path, no_compiler: bool = False) -> Path | str:
    """``pip wheel`` of the sdist into ``directory``: the wheel, or pip's last words."""
    env = {"CC": "false", "CXX": "false"} if no_compiler else None
    run = pip("wheel", *PIP, "--no-cache-dir", "--quiet", "--no-deps", "--no-binary", ":all:", "-w", str(directory),
              f"{package}=={version}", env=env)
    built = list(directory.glob("*.whl"))
    if run.returncode != 0 or not built:
        return " / ".join((run.stdout + run.stderr).strip().splitlines()[-3:])
    return built[0]


def classify(package: str, version: str, found: Path, kinds: dict[str, str]) -> str | None:
    """Makes ``package==version`` (no usable wheel) available to the resolution if it installs anyway; else why not."""
    metadata = sdist_metadata(package, version)
    if isinstance(metadata, str):
        return metadata
    if package in BUILT_FROM_SOURCE:
        stand_in(metadata, found)
        kinds[package] = DECLARED
        return None
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build(package, version, Path(tmp))
        if isinstance(wheel, str):
            return f"its sdist does not build here: {wheel}"
        if wheel.name.endswith("-none-any.whl"):
            shutil.move(str(wheel), found / wheel.name)
            kinds[package] = PURE
            return None
        wheel.unlink()
        if isinstance(build(package, version, Path(tmp), no_compiler=True), Path):
            stand_in(metadata, found)
            kinds[package] = OPTIONAL_NATIVE
            return None
    return (f"no wheel for this platform, and its sdist has native code that needs a compiler (it builds "
            f"{wheel.name}); declare it in BUILT_FROM_SOURCE with what it needs only if that is acceptable")


def check(target: str, found: Path, pinned: dict[str, str], kinds: dict[str, str]) -> bool:
    tried: set[str] = set()
    while True:
        report, output = resolve(target, found)
        if report is not None:
            break
        package = next((name for name in missing_packages(output) if name not in tried), None)
        if package is None:
            lines = [line for line in output.splitlines() if "it is neither a file nor a directory" not in line
                     and not line.startswith(("Collecting", "  Using cached", "  Downloading", "Looking in"))
                     and "━━" not in line]
            print(f"FAIL {target}: pip could not resolve\n" + "\n".join(lines[-40:]))
            return False
        tried.add(package)
        if package not in pinned:
            print(f"FAIL {target}: {package} has no wheel for {target} and is not pinned in constraints.txt")
            return False
        why = classify(package, pinned[package], found, kinds)
        if why is not None:
            print(f"FAIL {target}: {package}=={pinned[package]}: {why}")
            return False
    installs: list[dict[str, Any]] = report["install"]
    counts: Counter[str] = Counter()
    special: dict[str, list[str]] = {}
    for item in installs:
        name, file = canonical(item["metadata"]["name"]), item["download_info"]["url"].rsplit("/", 1)[-1]
        how = kinds.get(name) if item["download_info"]["url"].startswith("file:") else None
        if how is None:
            how = "pure wheel" if file.endswith("-none-any.whl") else "abi3 wheel" if "-abi3-" in file \
                else "platform wheel"
        else:
            special.setdefault(how, []).append(name + (f" (needs {BUILT_FROM_SOURCE[name]})" if how == DECLARED
                                                       else ""))
        counts[how] += 1
    unpinned = sorted(f"{item['metadata']['name']}=={item['metadata']['version']}" for item in installs
                      if canonical(item["metadata"]["name"]) not in pinned)
    print(f"ok   {target}: {len(installs)} packages: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    for how, names in sorted(special.items()):
        print(f"       {how}: {', '.join(sorted(names))}")
    if unpinned:
        print(f"       not pinned in constraints.txt: {', '.join(unpinned)}")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--target", action="append", choices=sorted(TARGETS), help="default: all")
    options = parser.parse_args()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ovos-realtime" / "platform-check"
    found = cache / "found"
    found.mkdir(parents=True, exist_ok=True)
    kinds_file = cache / "kinds.json"
    kinds: dict[str, str] = json.loads(kinds_file.read_text()) if kinds_file.exists() else {}
    pinned = pins()
    results = []
    for target in options.target or TARGETS:
        results.append(check(target, found, pinned, kinds))
        kinds_file.write_text(json.dumps(kinds, indent=1))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
