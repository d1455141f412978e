"""Shared fixtures; each domain keeps its own in a fixtures_* module."""

pytest_plugins = ["tests.fixtures_server", "tests.fixtures_ovos", "tests.fixtures_ovos_server", "tests.fixtures_speech",
                  "tests.fixtures_intents", "tests.fixtures_llm", "tests.fixtures_local_llm",
                  "tests.fixtures_speech_servers", "tests.fixtures_browser"]
