"""The real ``ovos-realtime --standalone`` whose skills service is killed: it is restarted, ``/healthz`` answers 503
meanwhile, the open session survives — its turn during the outage fails at once, its turn after the restart is
answered by the skills again. Restarts are bounded: a few within a window, each after a longer pause."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from openai import AsyncOpenAI

from ovos_realtime_plugin.bus.supervisor import RestartBudget
from ovos_realtime_plugin.daemon_settings import daemon_settings
from tests.fixtures_server import API_KEY
from tests.sdk_helpers import collect, user_text
from tests.test_daemon import descendants, kill_leftovers, skills_service, spawn_standalone, terminate, wait_healthy

OUTAGE_S = 60.0  # noticing the exit: well under a second; a generous bound for a loaded machine


async def turn(conn: Any, text: str) -> dict[str, Any]:
    """``response.done`` of a text turn in an open connection, with the text it streamed as ``"said"``."""
    await conn.conversation.item.create(item=user_text(text))
    await conn.response.create()
    events = await collect(conn, "response.done")
    said = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    return {**events[-1]["response"], "said": said}


async def test_a_killed_skills_service_is_restarted_and_the_session_goes_on(tmp_path: Path) -> None:
    proc, port, _ = await spawn_standalone(tmp_path, restart_backoff_s=0.1)
    children: list[int] = []
    try:
        await wait_healthy(port, lambda: proc.returncode is None)
        children = descendants(proc.pid)
        sdk = AsyncOpenAI(api_key=API_KEY, base_url=f"http://127.0.0.1:{port}/v1")
        async with sdk.realtime.connect(model="gpt-realtime") as conn:
            await collect(conn, "session.created")
            await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
            await collect(conn, "session.updated")
            assert (await turn(conn, "hello world"))["said"] == "Hello world"
            killed = skills_service(children)
            os.kill(killed, signal.SIGKILL)
            await wait_healthy(port, lambda: proc.returncode is None, OUTAGE_S, status=503)
            during = await turn(conn, "hello world")
            await wait_healthy(port, lambda: proc.returncode is None)
            after = await turn(conn, "hello world")
        assert during["status"] == "failed"
        assert "skills service exited" in during["status_details"]["error"]["message"]
        assert after["status"] == "completed" and after["said"] == "Hello world"
        restarted = descendants(proc.pid)
        assert killed not in restarted and skills_service(restarted)
        children = restarted
        await terminate(proc, children, tmp_path)
        assert "restarting the OVOS skills service" in (tmp_path / "state" / "mycroft" / "realtime.log").read_text()
    finally:
        await kill_leftovers(proc, children)


def test_restarts_are_bounded_within_the_window_and_back_off() -> None:
    conf = {"realtime": {"standalone": {"max_restarts": 2, "restart_window_s": 60, "restart_backoff_s": 0.5}}}
    settings = daemon_settings(conf, standalone=True).skills
    assert settings is not None
    now = [0.0]
    budget = RestartBudget(settings, clock=lambda: now[0])
    assert [budget.next_delay(), budget.next_delay(), budget.next_delay()] == [0.5, 1.0, None]
    now[0] = 61.0  # the first restarts left the window
    assert budget.next_delay() == 0.5
