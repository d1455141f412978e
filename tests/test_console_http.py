"""The voice console's HTTP side, no browser (tests/test_console.py has the page and the loopback key): its
assets, and ``POST /console/client_secret`` minting a key a WebSocket accepts, for the operator's key only
when the request was forwarded by a proxy."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.fixtures_server import API_KEY, Running
from tests.test_client_secrets import first_event


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, method=method, headers=headers or {}, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read()


def root(realtime: Running) -> str:
    return f"http://127.0.0.1:{realtime.server.port}"


@pytest.mark.parametrize(("path", "kind", "text"), [
    ("/", "text/html", b'id="mic"'), ("/console/console.js", "text/javascript", b"oai-events"),
    ("/console/capture.js", "text/javascript", b"registerProcessor"), ("/console/console.css", "text/css", b"#mic")])
async def test_the_page_and_its_assets_are_served(realtime: Running, path: str, kind: str, text: bytes) -> None:
    status, content_type, body = await asyncio.to_thread(fetch, root(realtime) + path)
    assert status == 200 and content_type.startswith(kind) and text in body


async def test_an_unknown_asset_is_404(realtime: Running) -> None:
    status, _, _ = await asyncio.to_thread(fetch, root(realtime) + "/console/../app.py")
    assert status == 404
    status, _, _ = await asyncio.to_thread(fetch, root(realtime) + "/console/index2.html")
    assert status == 404


async def mint(realtime: Running, **headers: str) -> tuple[int, dict[str, Any]]:
    status, _, body = await asyncio.to_thread(fetch, root(realtime) + "/console/client_secret", "POST", headers)
    return status, json.loads(body)


async def test_the_consoles_key_opens_a_session(realtime: Running) -> None:
    status, body = await mint(realtime)
    assert status == 200 and body["value"].startswith("ek_")
    event, _ = await first_event(realtime, body["value"], "?model=gpt-realtime")
    assert event["type"] == "session.created"


async def test_a_forwarded_request_needs_the_operators_key(realtime: Running) -> None:
    status, body = await mint(realtime, **{"X-Forwarded-For": "203.0.113.9"})
    assert status == 401 and body["error"]["code"] == "invalid_api_key"
    status, body = await mint(realtime, **{"X-Forwarded-For": "203.0.113.9", "Authorization": "Bearer sk-wrong"})
    assert status == 401
    status, body = await mint(realtime, **{"X-Forwarded-For": "203.0.113.9", "Authorization": f"Bearer {API_KEY}"})
    assert status == 200 and body["value"].startswith("ek_")


async def test_an_ephemeral_key_does_not_mint_a_console_key(realtime: Running) -> None:
    _, body = await mint(realtime)
    forwarded = {"X-Forwarded-For": "203.0.113.9", "Authorization": f"Bearer {body['value']}"}
    status, refused = await mint(realtime, **forwarded)
    assert status == 401 and refused["error"]["code"] == "invalid_api_key"
