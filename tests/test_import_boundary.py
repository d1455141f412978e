"""The sans-I/O boundary: the core and protocol packages import no asyncio, websockets or OVOS package."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ovos_realtime_plugin"
FORBIDDEN = ("asyncio", "websockets", "ovos_bus_client", "ovos_plugin_manager", "ovos_config", "ovos_utils")
PURE = ("core", "protocol")


def _forbidden(module: str) -> bool:
    root = module.split(".")[0]
    return root in FORBIDDEN or (root.startswith("ovos_") and root != "ovos_realtime_plugin")


def test_importing_the_core_loads_no_io_module() -> None:
    modules = [f"ovos_realtime_plugin.{pkg}.{path.stem}" for pkg in PURE
               for path in sorted((PACKAGE / pkg).glob("*.py")) if path.stem != "__init__"]
    assert "ovos_realtime_plugin.core.session" in modules and "ovos_realtime_plugin.protocol.parse" in modules
    code = (f"import importlib, json, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            cwd=PACKAGE.parent, check=False)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert "ovos_realtime_plugin.core.session" in loaded
    assert [m for m in loaded if _forbidden(m)] == []


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name) \
                and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__") \
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            names.append(node.args[0].value)
    return names


@pytest.mark.parametrize("path", [p for pkg in PURE for p in sorted((PACKAGE / pkg).glob("*.py"))],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_io_import_in_source(path: Path) -> None:
    assert [name for name in _imports(path) if _forbidden(name)] == []


def test_the_scan_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import asyncio\nfrom websockets.asyncio.server import serve\n"
                      "def f():\n    from ovos_bus_client import Message\n"
                      "    import importlib\n    importlib.import_module('ovos_utils.log')\n")
    assert [n for n in _imports(sample) if _forbidden(n)] == [
        "asyncio", "websockets.asyncio.server", "ovos_bus_client", "ovos_utils.log"]


@pytest.mark.parametrize("path", sorted((PACKAGE / "core").glob("*.py")), ids=lambda p: f"core/{p.name}")
def test_the_core_imports_nothing_from_the_edge(path: Path) -> None:
    """The core's events are dialect-free: rendering (and wire parsing) live in ``protocol``, transports in
    ``server``; the core imports neither."""
    edge = ("ovos_realtime_plugin.protocol", "ovos_realtime_plugin.server")
    assert [name for name in _imports(path) if name.startswith(edge)] == []
    assert "type: ignore" not in path.read_text()  # the parts are composed and typed, not cast into mixins
