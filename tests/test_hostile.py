"""Frames that used to crash a connection (issue 11) each get one protocol ``error``, and the session goes on."""

from __future__ import annotations

import json

from websockets.asyncio.client import connect

from tests.fixtures_server import Running
from tests.test_errors import AUTH, Raw, ws_url


async def test_a_type_that_is_no_string_is_an_invalid_type(realtime: Running) -> None:
    async with connect(ws_url(realtime), additional_headers=AUTH) as ws:
        raw = Raw(ws)
        await raw.until("session.created")
        for odd in (["session.update"], {"a": 1}, 7):
            error = await raw.one_error({"type": odd, "event_id": "evt_odd"})
            assert (error["code"], error["param"], error["event_id"]) == ("invalid_type", "type", "evt_odd")


async def test_json_nested_too_deep_is_refused(realtime: Running) -> None:
    async with connect(ws_url(realtime), additional_headers=AUTH) as ws:
        raw = Raw(ws)
        await raw.until("session.created")
        error = await raw.one_error('{"type":"session.update","session":' + "[" * 10_000 + "]" * 10_000 + "}")
        assert error["code"] == "invalid_json"
        deep = '{"type":"object","properties":' * 800 + "{}" + "}" * 800
        frame = ('{"type":"session.update","event_id":"evt_deep","session":{"type":"realtime","tools":[{"type":'
                 '"function","name":"f","parameters":' + deep + "}]}}")
        error = await raw.one_error(frame)
        assert (error["code"], error["event_id"]) == ("invalid_value", "evt_deep")
        assert error["param"].startswith("session.tools[0].parameters.properties")
        await raw.send({"type": "session.update", "session": {"type": "realtime",
                                                              "prompt": {"id": "p", "variables": {"x": None}}}})
        events = await raw.until("error")
        assert events[-1]["error"]["param"] == "session.prompt.variables.x"
        updated = await raw.probe()
        assert json.dumps(updated[-1]["session"]["tools"]) == "[]"  # nothing of the refused updates was kept
