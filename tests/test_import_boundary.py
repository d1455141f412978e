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


# -- the import graph ------------------------------------------------------------------------------------------
OWN = "ovos_realtime_plugin"
LAZY_HEAVY = {("server/webrtc/routes.py", "ovos_realtime_plugin.server.webrtc.call"),
              ("server/webrtc/routes.py", "ovos_realtime_plugin.server.webrtc.ice"),
              ("server/webrtc/routes.py", "ovos_realtime_plugin.server.webrtc.ports"),
              ("daemon.py", "ovos_realtime_plugin.llm.backend"),
              ("llm/responders.py", "ovos_realtime_plugin.llm.assistant")}
"""Our modules imported inside a function because they import a heavy library only some set-ups use (aiortc,
aioice and PyAV for a WebRTC call; openai with an LLM), each commented so where it is imported: never to dodge a
circle."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.stmt) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return isinstance(test, ast.Name | ast.Attribute) and ast.unparse(test).endswith("TYPE_CHECKING")


def _own_targets(node: ast.Import | ast.ImportFrom, modules: set[str]) -> list[str]:
    """Our modules an import statement loads (``from pkg import mod`` names the submodule)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.startswith(OWN)]
    if node.level or not node.module or not node.module.startswith(OWN):
        return []
    return [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
            for alias in node.names]


def _module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports run when the module is imported: top level, inside ``if``/``try`` blocks, not ``TYPE_CHECKING``."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and not _type_checking(node):
            pending += node.body + node.orelse
        elif isinstance(node, ast.Try):
            pending += node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body]
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(path) for path in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        tree = ast.parse(path.read_text(), str(path))
        graph[_module_name(path)] = {target for node in _module_level_imports(tree)
                                     for target in _own_targets(node, modules) if target in modules}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of modules that import one another (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_through_others() -> None:
    graph = import_graph()
    assert "ovos_realtime_plugin.server.webrtc.routes" in graph["ovos_realtime_plugin.server.http_api"]
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_own_module_is_imported_inside_a_function() -> None:
    """An import inside a function hides a circle from the graph above; only optional heavy libraries wait."""
    modules = set(import_graph())
    inside = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                inside |= {(path.relative_to(PACKAGE).as_posix(), target) for node in ast.walk(function)
                           if isinstance(node, ast.Import | ast.ImportFrom) for target in _own_targets(node, modules)}
    assert inside == LAZY_HEAVY
