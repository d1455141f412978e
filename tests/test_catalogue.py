"""The event catalogue matches the code and the README."""

from __future__ import annotations

import re
from pathlib import Path

from ovos_realtime_plugin.protocol.catalogue import SERVER_EVENTS, matrix

ROOT = Path(__file__).resolve().parent.parent


def test_every_emitted_event_is_catalogued() -> None:
    emitted: set[str] = set()
    for path in (ROOT / "ovos_realtime_plugin" / "core").glob("*.py"):
        emitted |= set(re.findall(r'emit\(\s*"([a-z_.]+)"', path.read_text()))
    emitted |= {"session.created", "session.updated"}
    assert emitted == set(SERVER_EVENTS)


def test_readme_matrix_is_generated_from_the_catalogue() -> None:
    assert matrix() in (ROOT / "README.md").read_text()
