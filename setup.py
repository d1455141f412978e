"""ovos-realtime: an OpenAI-Realtime-compatible voice server for OpenVoiceOS."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def requirements() -> list[str]:
    lines = (HERE / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


setup(
    name="ovos-realtime",
    version="0.1.0",
    description="OpenAI-Realtime-compatible voice server for OpenVoiceOS",
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["ovos_realtime_plugin", "ovos_realtime_plugin.*"]),
    include_package_data=True,
    package_data={"ovos_realtime_plugin": ["locale/*/*", "server/console/*"]},
    data_files=[],
    install_requires=requirements(),
    extras_require={"test": ["pytest", "pytest-asyncio", "pytest-timeout", "pytest-cov", "ruff", "mypy", "openai",
                             "openai-agents", "ovos-PHAL", "ovos-stt-plugin-server", "ovos-tts-plugin-server",
                             "selenium", "hypothesis"]},
    entry_points={"console_scripts": ["ovos-realtime=ovos_realtime_plugin.cli:main"],
                  "opm.stt": ["ovos-stt-plugin-moonshine-base-en="
                              "ovos_realtime_plugin.engines.moonshine_stt:MoonshineSTT",
                              "ovos-stt-plugin-whisper-fitted=ovos_realtime_plugin.engines.whisper_stt:FittedWhisperSTT"],
                  "opm.VAD": ["ovos-vad-plugin-silero-v6=ovos_realtime_plugin.engines.silero_vad:SileroV6VAD"],
                  "opm.phal": ["ovos-PHAL-plugin-realtime=ovos_realtime_plugin.phal:RealtimePhalPlugin"]},
)
