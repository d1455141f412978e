"""The voice console's page at ``GET /`` and its same-origin ephemeral-key endpoint."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

from tests.fixtures_server import Running
from tests.sdk_helpers import TIMEOUT


def fetch(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


async def test_the_page_is_served_without_outside_resources(realtime: Running) -> None:
    status, page = await asyncio.to_thread(fetch, f"http://127.0.0.1:{realtime.server.port}/")
    assert status == 200 and 'src="/console/console.js"' in page
    status, script = await asyncio.to_thread(fetch, f"http://127.0.0.1:{realtime.server.port}/console/console.js")
    page += script
    assert status == 200 and "oai-events" in page and "/v1/realtime/calls" in page
    assert "http://" not in page.replace("http://${", "") and "https://" not in page  # no CDN


async def test_loopback_page_gets_an_ephemeral_key(realtime: Running) -> None:
    body = json.dumps({"session": {"type": "realtime", "instructions": "Hi"}}).encode()
    status, answer = await asyncio.to_thread(fetch, f"http://127.0.0.1:{realtime.server.port}/console/client_secret",
                                             body, {"Content-Type": "application/json"})
    secret = json.loads(answer)
    assert status == 200 and secret["value"].startswith("ek_") and secret["session"]["instructions"] == "Hi"
    assert realtime.server.secrets.grant(secret["value"]) is not None


async def test_another_origin_gets_no_key(realtime: Running) -> None:
    status, answer = await asyncio.to_thread(fetch, f"http://127.0.0.1:{realtime.server.port}/console/client_secret",
                                             b"{}", {"Origin": "https://evil.example"})
    assert status == 403 and json.loads(answer)["error"]["code"] == "origin_not_allowed"
