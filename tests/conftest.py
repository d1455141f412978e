"""Shared fixtures; each domain keeps its own in a fixtures_* module."""

from __future__ import annotations

import pytest

from ovos_realtime_plugin import patches

pytest_plugins = ["tests.fixtures_server", "tests.fixtures_ovos", "tests.fixtures_ovos_server", "tests.fixtures_speech",
                  "tests.fixtures_intents", "tests.fixtures_llm", "tests.fixtures_local_llm",
                  "tests.fixtures_speech_servers", "tests.fixtures_browser"]


def pytest_configure(config: pytest.Config) -> None:
    """The servers the tests run in this process stand for the daemon: its patches go in, as ``cli.main`` puts
    them in (tests/test_patches.py checks a PHAL-hosted server in a process of its own, without them)."""
    patches.apply_all(owner="daemon")
