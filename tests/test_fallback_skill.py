"""ovos-realtime as an OVOS fallback skill: OVOS's own pipeline hands it what no intent matched, and
the device's other sessions are never claimed. Real ovos-core, real bus (tests/fixtures_ovos.py)."""

from __future__ import annotations

import asyncio

import pytest

from ovos_realtime_plugin.bus import names
from ovos_realtime_plugin.bus.assistant import OvosAssistantSettings
from ovos_realtime_plugin.bus.client import BusMessage
from ovos_realtime_plugin.bus.session import ovos_session_id
from ovos_realtime_plugin.llm.responders import Responders
from tests.fixtures_intents import ToolsRealtime
from tests.fixtures_llm import LlmRealtime, say
from tests.fixtures_ovos import OvosStack, next_of_type, observe
from tests.sdk_helpers import collect
from tests.test_llm import ask, client, reply_text

SKILL_ID = "ovos-realtime-ovos_first.fallback"
"""The llm_stack's ovos_first server (tests/fixtures_llm.py)."""


async def until_handled(seen: asyncio.Queue[BusMessage]) -> list[BusMessage]:
    """Everything said in the observed session up to and including ``ovos.utterance.handled``."""
    messages = [await seen.get()]
    while messages[-1].type != names.UTTERANCE_HANDLED:
        messages.append(await asyncio.wait_for(seen.get(), 10.0))
    return messages


async def test_ovos_hands_what_no_intent_matched_to_our_fallback_skill(llm: LlmRealtime,
                                                                       ovos_stack: OvosStack) -> None:
    llm.chat.script.append(say("Penguins cannot fly, but they swim very well."))
    async with client(llm.ovos_first).realtime.connect(model="gpt-realtime") as conn:
        created = await collect(conn, "session.created")
        session = ovos_session_id(created[-1]["session"]["id"])
        await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await collect(conn, "session.updated")
        observer, seen = await observe(ovos_stack.port, session)
        try:
            events = await ask(conn, "can penguins fly")
            said = await until_handled(seen)
        finally:
            await observer.close()
    assert reply_text(events) == "Penguins cannot fly, but they swim very well."
    kinds = [m.type for m in said]
    assert names.INTENT_FAILURE not in kinds, kinds
    pongs = [m.data for m in said if m.type == names.FALLBACK_PONG and m.data.get("skill_id") == SKILL_ID]
    assert pongs and all(p["can_handle"] for p in pongs)
    ours = [k for k in kinds if k.startswith(f"ovos.skills.fallback.{SKILL_ID}.")]
    assert ours == [names.fallback_request(SKILL_ID), names.fallback_start(SKILL_ID),
                    names.fallback_response(SKILL_ID)], kinds
    response = next(m for m in said if m.type == names.fallback_response(SKILL_ID))
    assert response.data["result"] is True and kinds[-1] == names.UTTERANCE_HANDLED


async def test_the_device_s_own_sessions_are_never_claimed(llm: LlmRealtime, ovos_stack: OvosStack) -> None:
    observer, seen = await observe(ovos_stack.port, "default")
    try:
        observer.emit(names.FALLBACK_PING, {"utterances": ["can penguins fly"], "lang": "en-US"},
                      {"source": "test-observer", "session": {"session_id": "default"}})
        while (pong := await next_of_type(seen, names.FALLBACK_PONG)).data.get("skill_id") != SKILL_ID:
            pass
    finally:
        await observer.close()
    assert pong.data["can_handle"] is False


async def test_stopping_withdraws_the_registration(tools_realtime: ToolsRealtime, llm: LlmRealtime,
                                                   ovos_stack: OvosStack) -> None:
    observer, _ = await observe(ovos_stack.port, "unused")
    registrations: asyncio.Queue[BusMessage] = asyncio.Queue()
    for kind in (names.FALLBACK_REGISTER, names.FALLBACK_DEREGISTER):
        observer.subscribe_type(kind, registrations.put_nowait)
    backend = llm.ovos_first_backend
    settings = OvosAssistantSettings(fallback_skill_id="ovos-realtime-short-lived.fallback", fallback_priority=93)
    try:
        responders = Responders(tools_realtime.bus, settings, tools_realtime.intents, backend)
        registered = await next_of_type(registrations, names.FALLBACK_REGISTER)
        responders.close()
        withdrawn = await next_of_type(registrations, names.FALLBACK_DEREGISTER)
    finally:
        await observer.close()
    assert registered.data == {"skill_id": "ovos-realtime-short-lived.fallback", "priority": 93}
    assert withdrawn.data == {"skill_id": "ovos-realtime-short-lived.fallback"}


async def test_a_restarted_skills_service_hears_from_us_again(llm: LlmRealtime, ovos_stack: OvosStack) -> None:
    observer, _ = await observe(ovos_stack.port, "unused")
    registrations: asyncio.Queue[BusMessage] = asyncio.Queue()
    observer.subscribe_type(names.FALLBACK_REGISTER, registrations.put_nowait)
    try:
        # what ovos-core's skill manager says once its skills are loaded (its fallback service is new then)
        observer.emit(names.SKILLS_INITIALIZED, {}, {"source": "test-observer"})
        while (again := await next_of_type(registrations, names.FALLBACK_REGISTER)).data["skill_id"] != SKILL_ID:
            pass
    finally:
        await observer.close()
    assert again.data == {"skill_id": SKILL_ID, "priority": OvosAssistantSettings().fallback_priority}


@pytest.mark.parametrize(("model", "low_stage"), [("gpt-realtime", False), ("ovos", True)],
                         ids=["llm-as-fallback", "ovos-alone"])
async def test_with_the_llm_as_fallback_padatious_low_guesses_are_left_to_it(
        llm: LlmRealtime, ovos_stack: OvosStack, model: str, low_stage: bool) -> None:
    async with client(llm.ovos_first).realtime.connect(model=model) as conn:
        created = await collect(conn, "session.created")
        observer, seen = await observe(ovos_stack.port, ovos_session_id(created[-1]["session"]["id"]))
        try:
            await conn.session.update(session={"type": "realtime", "output_modalities": ["text"]})
            await collect(conn, "session.updated")
            await ask(conn, "hello world")
            utterance = await next_of_type(seen, names.UTTERANCE)
        finally:
            await observer.close()
    pipeline = utterance.context["session"]["pipeline"]
    assert (names.STAGE_PADATIOUS_LOW in pipeline) is low_stage
    assert names.STAGE_PADATIOUS_MEDIUM in pipeline and names.STAGE_FALLBACK_LOW in pipeline
