"""What a connection asked for at the handshake: dialect, session kind, model and API key."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from multidict import CIMultiDictProxy

Headers = CIMultiDictProxy[str]

PATHS = ("/v1/realtime", "/realtime")
BETA_SUBPROTOCOL = "openai-beta.realtime-v1"
KEY_SUBPROTOCOL = "openai-insecure-api-key."


@dataclass(frozen=True)
class Handshake:
    path: str
    dialect: str
    kind: str
    model: str | None
    api_key: str | None
    call_id: str | None


def offered_subprotocols(headers: Headers) -> list[str]:
    return [p.strip() for value in headers.getall("Sec-WebSocket-Protocol", []) for p in value.split(",") if p.strip()]


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def read(path: str, headers: Headers) -> Handshake:
    url = urlsplit(path)
    query = parse_qs(url.query)
    protocols = offered_subprotocols(headers)
    beta = "realtime=v1" in headers.get("OpenAI-Beta", "") or BETA_SUBPROTOCOL in protocols
    key = None
    auth = headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    for proto in protocols:
        if proto.startswith(KEY_SUBPROTOCOL):
            key = key or proto[len(KEY_SUBPROTOCOL):]
    key = key or _first(query, "access_token")
    intent = _first(query, "intent")
    return Handshake(path=url.path, dialect="beta" if beta else "ga",
                     kind="transcription" if intent == "transcription" else "realtime",
                     model=_first(query, "model"), api_key=key,
                     call_id=_first(query, "call_id"))


def select_subprotocol(offered: list[str]) -> str | None:
    """Browsers need ``realtime`` echoed back; otherwise the first protocol offered that is not a key (a key
    offered as a subprotocol is never sent back: proxies and browser tools log response headers)."""
    if "realtime" in offered:
        return "realtime"
    return next((p for p in offered if not p.startswith(KEY_SUBPROTOCOL)), None)
