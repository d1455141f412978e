"""Shared fixtures; each domain keeps its own in a fixtures_* module."""

pytest_plugins = ["tests.fixtures_server", "tests.fixtures_ovos", "tests.fixtures_speech"]
