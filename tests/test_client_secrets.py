"""Ephemeral keys: minted through the real ``openai`` SDK's ``client.realtime.client_secrets.create``,
accepted on WebSocket with the session config they carry, refused when expired, forged or used to mint."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from openai import AsyncOpenAI, AuthenticationError, BadRequestError
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from ovos_realtime_plugin.server.api_keys import ApiKey
from ovos_realtime_plugin.server.client_secrets import ClientSecrets, Grant
from tests.fixtures_server import API_KEY, Running
from tests.sdk_helpers import TIMEOUT


def sdk(realtime: Running, key: str = API_KEY) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=key, base_url=realtime.http, max_retries=0)


async def first_event(realtime: Running, key: str, query: str = "") -> tuple[dict[str, Any], int | None]:
    """The first event on a WebSocket opened with ``key`` (the browser way), and the close code if it closed."""
    url = f"{realtime.url}/realtime{query}"
    protocols = [Subprotocol("realtime"), Subprotocol(f"openai-insecure-api-key.{key}")]
    async with connect(url, subprotocols=protocols) as ws:
        event = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        if event["type"] == "error":
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), TIMEOUT)
        return event, ws.close_code


async def test_minted_key_opens_a_session_with_its_config(realtime: Running) -> None:
    secret = await sdk(realtime).realtime.client_secrets.create(
        expires_after={"anchor": "created_at", "seconds": 60},
        session={"type": "realtime", "model": "gpt-realtime", "instructions": "Answer like a pirate."})
    assert secret.value.startswith("ek_") and secret.session.type == "realtime"
    event, _ = await first_event(realtime, secret.value)  # no ?model=: the key's session has one
    assert event["type"] == "session.created"
    assert event["session"]["instructions"] == "Answer like a pirate."


async def test_default_expiry_is_600_s(realtime: Running) -> None:
    secret = await sdk(realtime).realtime.client_secrets.create()
    assert 590 <= secret.expires_at - time.time() <= 600


async def test_forged_key_is_refused_like_a_bad_key(realtime: Running) -> None:
    event, code = await first_event(realtime, "ek_forged", "?model=gpt-realtime")
    assert event["error"]["code"] == "invalid_api_key" and code == 3000


async def test_an_ephemeral_key_cannot_mint(realtime: Running) -> None:
    secret = await sdk(realtime).realtime.client_secrets.create()
    with pytest.raises(AuthenticationError) as refused:
        await sdk(realtime, secret.value).realtime.client_secrets.create()
    assert refused.value.code == "invalid_api_key"


async def test_a_bad_key_cannot_mint(realtime: Running) -> None:
    with pytest.raises(AuthenticationError):
        await sdk(realtime, "sk-wrong").realtime.client_secrets.create()


@pytest.mark.parametrize("seconds", [9, 7201])
async def test_expiry_out_of_range_is_400(realtime: Running, seconds: int) -> None:
    with pytest.raises(BadRequestError) as refused:
        await sdk(realtime).realtime.client_secrets.create(expires_after={"anchor": "created_at", "seconds": seconds})
    assert refused.value.code == "invalid_value"


def post(realtime: Running, body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(f"{realtime.http}/realtime/client_secrets", data=body, method="POST",
                                     headers={"Authorization": f"Bearer {API_KEY}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.parametrize(("body", "status", "code"), [
    (b"{not json", 400, "invalid_json"), (b"[]", 400, "invalid_value"),
    (b'{"session": {"x": "' + b"a" * 70000 + b'"}}', 413, "request_too_large")])
async def test_bad_bodies_get_json_errors(realtime: Running, body: bytes, status: int, code: str) -> None:
    got, answer = await asyncio.to_thread(post, realtime, body)
    assert got == status and answer["error"]["code"] == code


def test_expired_key_is_unknown() -> None:
    now = [1000.0]
    operator = ApiKey(API_KEY, "operator", max_sessions=2)
    secrets = ClientSecrets((operator,), clock=lambda: now[0])
    value = secrets.mint({"expires_after": {"anchor": "created_at", "seconds": 10}}, operator)["value"]
    grant = secrets.grant(value)
    assert grant is not None and grant.ephemeral and grant.key == operator  # acts for the key that minted it
    now[0] += 10
    assert secrets.grant(value) is None
    assert secrets.grant(API_KEY) == Grant(key=operator) and secrets.grant("sk-other") is None
