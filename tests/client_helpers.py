"""Third-party Realtime clients (pipecat, LiveKit Agents) driving the real server, each from ``.venv-clients``
(``scripts/setup_clients.sh``; pinned in constraints-clients.txt): a driver script in ``tests/clients/`` runs one
scenario with the library's own API and prints a JSON report, which the test reads. The tests skip when that venv
is missing (``OVOS_REALTIME_CLIENTS=0``).

Every scenario speaks espeak-ng audio as the client sends it (PCM16 24 kHz, 100 ms at a time) or types, against
``voice_ovos``: the real speech engines and the real OVOS skills."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from ovos_realtime_plugin.engines.speech import LoadedSpeech
from tests.fixtures_ovos import TIME_LIKE
from tests.fixtures_server import API_KEY, Served
from tests.fixtures_speech import silence, spoken
from tests.test_voice_ovos import clock_numbers, heard_from_piper, sounds_alike

ROOT = Path(__file__).resolve().parent.parent
CLIENTS_PYTHON = ROOT / ".venv-clients" / "bin" / "python"
DRIVERS = Path(__file__).parent / "clients"
RUN_TIMEOUT_S = 240.0
PHRASES = {"question": "what time is it", "timer": "set a timer for five minutes", "story": "tell me a story"}


def clients_python() -> Path:
    if os.environ.get("OVOS_REALTIME_CLIENTS") == "0":
        pytest.skip("third-party client tests off (OVOS_REALTIME_CLIENTS=0)")
    if not CLIENTS_PYTHON.exists():
        pytest.skip("no .venv-clients (scripts/setup_clients.sh; OVOS_REALTIME_CLIENTS=0 skips it)")
    return CLIENTS_PYTHON


def utterance(text: str) -> bytes:
    """``text`` said after a short pause, then the silence that ends the turn (server VAD)."""
    return silence(400) + spoken(text) + silence(900)


def phrases(folder: Path) -> dict[str, str]:
    """The scenarios' utterances as PCM16 24 kHz files in ``folder``: name → path."""
    audio = {}
    for name, text in PHRASES.items():
        audio[name] = str(folder / f"{name}.pcm")
        Path(audio[name]).write_bytes(utterance(text))
    return audio


def read_report(folder: Path, driver: str, returncode: int | None, out: bytes, err: bytes) -> dict[str, Any]:
    log = err.decode(errors="replace")
    (folder / "client.log").write_text(log)
    lines = out.decode().strip().splitlines()
    assert returncode == 0 and lines, f"{driver} exited {returncode}:\n{log[-6000:]}"
    report: dict[str, Any] = json.loads(lines[-1])
    for i, answer in enumerate(report["answers"]):
        answer["pcm"] = (folder / f"answer{i}.pcm").read_bytes()
    report["log"] = log
    return report


async def run_client(driver: str, served: Served, scenario: str, folder: Path) -> dict[str, Any]:
    """Runs ``tests/clients/<driver>.py`` for ``scenario`` against ``served``; its report, with the answers' audio
    (``answers[i]["pcm"]``) and the driver's log (``log``, also in ``folder/client.log``)."""
    python = clients_python()
    config = {"url": f"{served.url}/realtime", "base_url": served.http, "key": API_KEY, "scenario": scenario,
              "audio": phrases(folder), "out": str(folder)}
    proc = await asyncio.create_subprocess_exec(
        str(python), str(DRIVERS / f"{driver}.py"), json.dumps(config), cwd=folder,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""})
    try:
        out, err = await asyncio.wait_for(proc.communicate(), RUN_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
    return read_report(folder, driver, proc.returncode, out, err)


def explain(report: dict[str, Any]) -> str:
    """For an assertion's message: the report without audio, and the end of the client's log."""
    brief = {k: v for k, v in report.items() if k != "log"}
    brief["answers"] = [{k: v for k, v in a.items() if k != "pcm"} for a in report["answers"]]
    return f"{json.dumps(brief, indent=1)}\n--- client log (end) ---\n{report['log'][-4000:]}"


BENIGN_ERRORS = {"response_cancel_not_active"}
"""The one ``error`` OpenAI itself sends in a race every client meets: a ``response.cancel`` that arrives after the
server already ended the response (server VAD cancels it on the user's speech); pipecat and LiveKit both ignore it."""


def check_clean(report: dict[str, Any]) -> None:
    """The scenario ran to its end and the client saw no ``error`` event (none reported by the library, and on
    the wire none but the cancel race)."""
    assert report["failure"] is None, explain(report)
    assert report["errors"] == [], explain(report)
    assert [e for e in report.get("wire_errors", []) if e.get("code") not in BENIGN_ERRORS] == [], explain(report)


async def check_spoken_time(speech: LoadedSpeech, answer: dict[str, Any], report: dict[str, Any]) -> None:
    """``answer`` tells the time, in its transcript and in its audio (Whisper hears the same time)."""
    said = answer["text"]
    assert TIME_LIKE.search(said), explain(report)
    assert answer["audio_ms"] > 500, explain(report)
    assert speech.stt is not None
    heard = await speech.stt.transcribe(answer["pcm"], 24000, "en-US")
    assert clock_numbers(said) & clock_numbers(heard) - {0} or sounds_alike(said, heard) or \
        sounds_alike(await heard_from_piper(speech, said), heard), (said, heard)
