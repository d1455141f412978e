"""Who may ask (issue 21): the Host and Origin rules, forwarded headers believed only from trusted proxies, the
console's key minted only for the operator's own machine, and sessions refused before a slot is counted. The rules
as a table first, then each attack against a real server with no keys (loopback, the default) and with keys."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from ovos_realtime_plugin.server.access import AccessPolicy, AccessSettings, access_from_config, split_host
from ovos_realtime_plugin.server.api_keys import ApiKey
from ovos_realtime_plugin.server.settings import from_config
from tests.fixtures_server import API_KEY, Running, start_server

EVIL = "https://evil.example"
LIMITED = "sk-limited"


# --- the rules ---------------------------------------------------------------------------------

def policy(keyed: bool = False, bound: str = "127.0.0.1", cors: tuple[str, ...] = ("*",),
           **settings: Any) -> AccessPolicy:
    return AccessPolicy(AccessSettings(**settings), bound_host=bound, keyed=keyed, cors_origins=cors,
                        machine_name="kitchen-pi")


@pytest.mark.parametrize(("host", "bound", "allowed"), [
    ("127.0.0.1:60200", "127.0.0.1", True), ("localhost:60200", "127.0.0.1", True), ("[::1]:60200", "::1", True),
    ("LOCALHOST.", "127.0.0.1", True), ("voice.localhost", "127.0.0.1", True), ("127.9.9.9", "127.0.0.1", True),
    ("kitchen-pi:60200", "127.0.0.1", True), ("kitchen-pi.local", "127.0.0.1", True),
    ("evil.example:60200", "127.0.0.1", False), ("evil.example", "0.0.0.0", False), ("", "127.0.0.1", False),
    ("192.168.1.20:60200", "127.0.0.1", False), ("192.168.1.20:60200", "0.0.0.0", True),
    ("192.168.1.20", "192.168.1.20", True), ("localhost.evil.example", "127.0.0.1", False),
    ("127.0.0.1.evil.example", "127.0.0.1", False), ("[::1", "127.0.0.1", False), ("a b", "127.0.0.1", False),
])
def test_host_must_name_this_server(host: str, bound: str, allowed: bool) -> None:
    assert policy(bound=bound).host_allowed(host) is allowed


def test_allowed_hosts_add_names_and_domains() -> None:
    rules = policy(allowed_hosts=("voice.example.com", ".home.arpa"))
    assert rules.host_allowed("voice.example.com:443") and rules.host_allowed("pi.home.arpa")
    assert rules.host_allowed("home.arpa") and not rules.host_allowed("evilhome.arpa")
    assert not rules.host_allowed("example.com")
    assert policy(allowed_hosts=("*",)).host_allowed("anything.example")


@pytest.mark.parametrize(("origin", "host", "same"), [
    ("http://127.0.0.1:60200", "127.0.0.1:60200", True), ("http://127.0.0.1:60200/", "127.0.0.1:60200", True),
    ("http://127.0.0.1:60201", "127.0.0.1:60200", False), ("http://localhost:60200", "127.0.0.1:60200", False),
    ("https://voice.example.com", "voice.example.com", True), ("https://voice.example.com", "voice.example.com:80",
                                                                 False),
    ("null", "127.0.0.1:60200", False), ("file://", "127.0.0.1:60200", False), (EVIL, "127.0.0.1:60200", False),
    ("http://127.0.0.1:60200/path", "127.0.0.1:60200", False),
])
def test_an_origin_is_this_servers_own_only_on_the_same_host_and_port(origin: str, host: str, same: bool) -> None:
    assert policy().same_origin(origin, host) is same


def test_allowed_origins_are_this_servers_own() -> None:
    assert policy(allowed_origins=("https://voice.example.com",)).same_origin("https://voice.example.com",
                                                                              "127.0.0.1:60200")


@pytest.mark.parametrize(("keyed", "path", "cors", "allowed"), [
    (False, "/v1/realtime", ("*",), False), (False, "/v1/realtime/calls", ("*",), False),
    (True, "/v1/realtime", ("*",), True), (True, "/v1/realtime/calls", ("*",), True),
    (True, "/v1/realtime/calls/rtc_1", ("*",), True), (True, "/v1/realtime/client_secrets", ("*",), True),
    (True, "/realtime/calls", (EVIL,), True), (True, "/v1/realtime/calls", ("https://app.example",), False),
    (True, "/console/client_secret", ("*",), False), (True, "/metrics", ("*",), False), (True, "/", ("*",), False),
])
def test_another_origin_reaches_only_what_a_key_guards(keyed: bool, path: str, cors: tuple[str, ...],
                                                       allowed: bool) -> None:
    assert policy(keyed=keyed, cors=cors).cross_origin_allowed(EVIL, path) is allowed


@pytest.mark.parametrize(("peer", "headers", "local"), [
    ("127.0.0.1", {"Host": "127.0.0.1:60200"}, True),
    ("127.0.0.1", {"Host": "localhost:60200", "Origin": "http://localhost:60200"}, True),
    ("::1", {"Host": "[::1]:60200"}, True),
    ("127.0.0.1", {"Host": "127.0.0.1:60200", "Origin": "http://evil.example:60200"}, False),
    ("127.0.0.1", {"Host": "evil.example:60200"}, False),  # DNS rebinding
    ("127.0.0.1", {"Host": "evil.example:60200", "Origin": "http://evil.example:60200"}, False),
    ("127.0.0.1", {"Host": "127.0.0.1:8443"}, False),  # an L4 proxy on this machine listens on another port
    ("127.0.0.1", {"Host": "127.0.0.1:60200", "X-Real-IP": "203.0.113.9"}, False),
    ("127.0.0.1", {"Host": "127.0.0.1:60200", "X-Forwarded-For": "127.0.0.1"}, False),
    ("127.0.0.1", {"Host": "127.0.0.1:60200", "Forwarded": "for=127.0.0.1"}, False),
    ("127.0.0.1", {"Host": "127.0.0.1:60200", "Via": "1.1 proxy"}, False),
    ("127.0.0.1", {}, False), ("192.168.1.7", {"Host": "127.0.0.1:60200"}, False),
])
def test_the_operators_own_machine_is_never_a_guess(peer: str, headers: dict[str, str], local: bool) -> None:
    assert policy(keyed=True).local(peer, headers, 60200) is local


def test_forwarded_addresses_are_believed_only_from_trusted_proxies() -> None:
    rules = policy(trusted_proxies=("10.0.0.0/8",))
    forwarded = {"X-Forwarded-For": "127.0.0.1, 203.0.113.9, 10.0.0.7"}
    assert rules.client_address("10.0.0.5", forwarded) == "203.0.113.9"
    assert rules.client_address("198.51.100.1", forwarded) == "198.51.100.1"
    assert not rules.forwarded("10.0.0.5", forwarded) and rules.forwarded("198.51.100.1", forwarded)
    with pytest.raises(ValueError, match="trusted_proxies"):
        access_from_config({"trusted_proxies": ["10.0.0.300"]})
    with pytest.raises(ValueError, match="allowed_hosts"):
        access_from_config({"allowed_hosts": "voice.example.com"})


def test_the_settings_are_read_from_the_realtime_section() -> None:
    settings = from_config({"allowed_hosts": ["Voice.Example.com."], "allowed_origins": ["https://voice.example.com/"],
                            "trusted_proxies": ["10.0.0.1"], "http": {"header_timeout_s": 5},
                            "client_secrets": {"max_live_per_key": 3}})
    assert settings.access.allowed_hosts == ("voice.example.com",)
    assert settings.access.allowed_origins == ("https://voice.example.com",)
    assert settings.http.header_timeout_s == 5.0 and settings.client_secrets.max_live_per_key == 3
    with pytest.raises(ValueError, match="unknown"):
        from_config({"http": {"header_timeout": 5}})


def test_split_host() -> None:
    assert split_host("[::1]:80") == ("::1", 80) and split_host("Example.COM.") == ("example.com", None)
    assert split_host("a:b:c") == ("", None)


# --- the attacks, against a real server ------------------------------------------------------------

@pytest.fixture(scope="module")
async def open_server() -> AsyncIterator[Running]:
    running = await start_server(api_keys=frozenset())  # what scripts/run.sh runs: no keys, loopback only
    yield running
    await running.server.stop()


@pytest.fixture(scope="module")
async def keyed() -> AsyncIterator[Running]:
    limited = ApiKey(LIMITED, "limited", allow_skills=frozenset({"ovos-skill-hello-world.openvoiceos"}),
                     max_sessions=2)
    running = await start_server(key_entries=(limited,))
    yield running
    await running.server.stop()


async def request(server: Running, method: str, path: str, body: bytes | str = b"",
                  **headers: str) -> tuple[int, dict[str, str], Any]:
    """One HTTP request to the server (``Host`` as given, default the server's own), its status, headers, JSON."""
    headers.setdefault("Host", f"127.0.0.1:{server.server.port}")
    async with aiohttp.ClientSession(skip_auto_headers=("User-Agent",)) as client, client.request(
            method, f"http://127.0.0.1:{server.server.port}{path}", data=body, headers=headers) as response:
        text = await response.text()
        try:
            payload = json.loads(text) if text else None
        except ValueError:
            payload = text
        return response.status, dict(response.headers), payload


async def ws_refused(server: Running, host: str = "127.0.0.1", **headers: str) -> int:
    """The HTTP status that refuses a WebSocket upgrade for ``host`` (reached at the server's address) with these
    headers."""
    port = server.server.port
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"ws://{host}:{port}/v1/realtime?model=gpt-realtime", host="127.0.0.1", port=port,
                           additional_headers=headers):
            pass
    return refused.value.response.status_code


async def ws_first_event(server: Running, *, key: str | None = None, **headers: str) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {key}"} if key else {}
    async with connect(f"ws://127.0.0.1:{server.server.port}/v1/realtime?model=gpt-realtime",
                       additional_headers={**auth, **headers}) as ws:
        event: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        return event


async def test_a_page_on_another_origin_cannot_open_a_session(open_server: Running) -> None:
    assert await ws_refused(open_server, Origin=EVIL) == 403
    assert await ws_refused(open_server, Origin="null") == 403
    assert await ws_refused(open_server, Origin=f"http://localhost:{open_server.server.port}") == 403
    assert open_server.server.sessions.total == 0
    own = f"http://127.0.0.1:{open_server.server.port}"
    assert (await ws_first_event(open_server, Origin=own))["type"] == "session.created"
    assert (await ws_first_event(open_server))["type"] == "session.created"  # a program: no Origin


async def test_dns_rebinding_gets_421_everywhere(open_server: Running) -> None:
    rebound = f"evil.example:{open_server.server.port}"
    assert await ws_refused(open_server, "evil.example") == 421
    for method, path in [("POST", "/console/client_secret"), ("POST", "/v1/realtime/calls"), ("GET", "/metrics"),
                         ("GET", "/"), ("POST", "/v1/realtime/client_secrets"), ("GET", "/healthz")]:
        status, _, body = await request(open_server, method, path, b"{}", Host=rebound,
                                        Origin=f"http://{rebound}")
        assert status == 421 and body["error"]["code"] == "host_not_allowed", (method, path)
        status, _, _ = await request(open_server, method, path, b"{}", Host=rebound)
        assert status == 421


async def test_calls_and_keys_refuse_another_origin_before_anything_runs(open_server: Running) -> None:
    sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    for path in ("/v1/realtime/calls", "/console/client_secret", "/v1/realtime/client_secrets"):
        status, headers, body = await request(open_server, "POST", path, sdp, Origin=EVIL,
                                              **{"Content-Type": "application/sdp"})
        assert status == 403 and body["error"]["code"] == "origin_not_allowed", path
        assert "Access-Control-Allow-Origin" not in headers
    status, headers, _ = await request(open_server, "OPTIONS", "/v1/realtime/calls", Origin=EVIL, **{
        "Access-Control-Request-Method": "POST", "Access-Control-Request-Private-Network": "true"})
    assert status == 403 and "Access-Control-Allow-Private-Network" not in headers
    assert open_server.server.sessions.total == 0 and not open_server.server.calls


async def test_a_server_with_no_keys_serves_no_proxy(open_server: Running) -> None:
    for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
        status, _, body = await request(open_server, "POST", "/console/client_secret", b"{}",
                                        **{header: "203.0.113.9"})
        assert status == 403 and body["error"]["code"] == "proxy_needs_keys"
    status, _, body = await request(open_server, "POST", "/console/client_secret", b"{}")
    assert status == 200 and body["value"].startswith("ek_")


async def test_with_keys_another_origin_needs_a_key_and_gets_cors(keyed: Running) -> None:
    status, headers, _ = await request(keyed, "OPTIONS", "/v1/realtime/client_secrets", Origin=EVIL, **{
        "Access-Control-Request-Method": "POST", "Access-Control-Request-Private-Network": "true"})
    assert status == 204 and headers["Access-Control-Allow-Origin"] == EVIL
    assert headers["Access-Control-Allow-Private-Network"] == "true"
    status, headers, body = await request(keyed, "POST", "/v1/realtime/client_secrets", b"{}", Origin=EVIL)
    assert status == 401 and headers["Access-Control-Allow-Origin"] == EVIL
    status, _, body = await request(keyed, "POST", "/v1/realtime/client_secrets", b"{}", Origin=EVIL,
                                    Authorization=f"Bearer {API_KEY}")
    assert status == 200 and body["value"].startswith("ek_")
    assert (await ws_first_event(keyed, key=body["value"], Origin=EVIL))["type"] == "session.created"
    status, _, body = await request(keyed, "POST", "/console/client_secret", b"{}", Origin=EVIL,
                                    Authorization=f"Bearer {API_KEY}")
    assert status == 403
    status, _, _ = await request(keyed, "GET", "/metrics", Origin=EVIL, Authorization=f"Bearer {API_KEY}")
    assert status == 403


async def test_the_consoles_key_is_minted_only_for_this_machine(keyed: Running) -> None:
    port = keyed.server.port
    status, _, body = await request(keyed, "POST", "/console/client_secret", b"{}")
    assert status == 200 and body["value"].startswith("ek_")
    refused = [{"X-Real-IP": "203.0.113.9"}, {"X-Forwarded-For": "203.0.113.9"}, {"Host": f"127.0.0.1:{port + 1}"},
               {"Forwarded": "for=203.0.113.9"}, {"Host": "localhost"}]
    for headers in refused:
        status, _, body = await request(keyed, "POST", "/console/client_secret", b"{}", **headers)
        assert status == 401 and body["error"]["code"] == "invalid_api_key", headers
    status, _, _ = await request(keyed, "POST", "/console/client_secret", b"{}", Host=f"evil.example:{port}")
    assert status == 421
    status, _, body = await request(keyed, "POST", "/console/client_secret", b"{}", **{
        "X-Real-IP": "203.0.113.9", "Authorization": f"Bearer {API_KEY}"})
    assert status == 200


async def test_an_l4_proxy_on_this_machine_gets_no_console_key(keyed: Running) -> None:
    """A TCP relay (HAProxy ``mode tcp``, nginx ``stream``) on another port: its peer is loopback, its Host is not
    this server's port, so it is not the operator's machine."""
    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", keyed.server.port)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                sink.write(data)
            sink.close()
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    proxy = await asyncio.start_server(relay, "127.0.0.1", 0)
    proxy_port = proxy.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as client, client.post(
                f"http://127.0.0.1:{proxy_port}/console/client_secret", data=b"{}") as response:
            assert response.status == 401 and (await response.json())["error"]["code"] == "invalid_api_key"
    finally:
        proxy.close()


async def test_an_invalid_session_costs_no_slot(keyed: Running) -> None:
    bad = {"type": "realtime", "audio": 5}
    status, _, body = await request(keyed, "POST", "/v1/realtime/client_secrets", json.dumps({"session": bad}),
                                    Authorization=f"Bearer {LIMITED}")
    assert status == 400 and body["error"]["param"] == "session.audio" and body["error"]["type"] == \
        "invalid_request_error"
    deep = '{"session": ' + "[" * 5000 + "]" * 5000 + "}"
    status, _, body = await request(keyed, "POST", "/v1/realtime/client_secrets", deep,
                                    Authorization=f"Bearer {LIMITED}")
    assert status == 400 and body["error"]["code"] == "invalid_json"
    form = aiohttp.FormData()
    form.add_field("sdp", "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", content_type="application/sdp")
    form.add_field("session", json.dumps(bad), content_type="application/json")
    for _ in range(3):
        async with aiohttp.ClientSession() as client, client.post(
                f"{keyed.http}/realtime/calls", data=form, headers={"Authorization": f"Bearer {LIMITED}"}) as reply:
            assert reply.status == 400 and (await reply.json())["error"]["param"] == "session.audio"
    deep_form = aiohttp.FormData()
    deep_form.add_field("sdp", "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", content_type="application/sdp")
    deep_form.add_field("session", "[" * 5000 + "]" * 5000, content_type="application/json")
    async with aiohttp.ClientSession() as client, client.post(
            f"{keyed.http}/realtime/calls", data=deep_form, headers={"Authorization": f"Bearer {LIMITED}"}) as reply:
        assert reply.status == 400
    assert keyed.server.sessions.total == 0
    for _ in range(2):  # the limited key's two slots are still its own
        assert (await ws_first_event(keyed, key=LIMITED))["type"] == "session.created"


async def test_a_key_offered_as_a_subprotocol_is_never_sent_back(keyed: Running) -> None:
    url = f"ws://127.0.0.1:{keyed.server.port}/v1/realtime?model=gpt-realtime"
    async with connect(url, subprotocols=[Subprotocol(f"openai-insecure-api-key.{API_KEY}")]) as ws:
        assert ws.subprotocol is None
        assert API_KEY not in str(ws.response.headers)
        assert json.loads(await ws.recv())["type"] == "session.created"
    async with connect(url, subprotocols=[Subprotocol("realtime"),
                                          Subprotocol(f"openai-insecure-api-key.{API_KEY}")]) as ws:
        assert ws.subprotocol == "realtime"


async def test_the_console_is_served_with_a_content_security_policy(keyed: Running) -> None:
    for path in ("/", "/console/console.js", "/favicon.ico", "/console/icon.svg"):
        status, headers, _ = await request(keyed, "GET", path)
        assert status == 200, path
        assert "connect-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"
