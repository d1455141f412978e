"""Ephemeral client secrets (``ek_...``): minted by an API key holder, accepted until they expire.

They live in memory only (a restart revokes them), are compared in constant time, carry the session
config they were minted with, and cannot mint further keys.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ovos_realtime_plugin.server.api_keys import ApiKey, find_key

PREFIX = "ek_"
MIN_S, MAX_S, DEFAULT_S = 10, 7200, 600


class SecretRequestError(ValueError):
    """A client_secrets request that does not follow OpenAI's shape; ``param`` names the field."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Grant:
    """Who a key is: an operator's API key (may mint) or an ephemeral key with its session config. ``key`` is
    the configured API key it acts for (an ephemeral key: the one that minted it), with its limits and
    permissions; ``None`` on a server with no keys."""

    session: dict[str, Any] = field(default_factory=dict)
    ephemeral: bool = False
    key: ApiKey | None = None


@dataclass(frozen=True)
class _Secret:
    value: str
    expires_at: float
    session: dict[str, Any]
    minted_by: ApiKey | None


class ClientSecrets:
    def __init__(self, api_keys: tuple[ApiKey, ...], clock: Callable[[], float] = time.time) -> None:
        self.api_keys = api_keys
        self.clock = clock
        self._secrets: list[_Secret] = []

    def mint(self, body: dict[str, Any], minted_by: ApiKey | None = None) -> dict[str, Any]:
        """OpenAI's ``POST /v1/realtime/client_secrets``: the response body for request ``body``; the key acts
        for ``minted_by`` (its limits and permissions)."""
        seconds = _seconds(body.get("expires_after"))
        session = body.get("session") or {"type": "realtime"}
        if not isinstance(session, dict):
            raise SecretRequestError("Invalid 'session': expected an object.", "session")
        self._forget_expired()
        secret = _Secret(PREFIX + secrets.token_urlsafe(24), self.clock() + seconds, dict(session), minted_by)
        self._secrets.append(secret)
        return {"value": secret.value, "expires_at": int(secret.expires_at), "session": secret.session}

    def grant(self, key: str | None) -> Grant | None:
        """What ``key`` may do; ``None`` for a missing, unknown, forged or expired key.

        With no API keys configured the server is open (loopback only): any key, or none, is an operator's."""
        if key and key.startswith(PREFIX):
            secret = self._find(key)
            return Grant(dict(secret.session), ephemeral=True, key=secret.minted_by) if secret is not None else None
        if not self.api_keys:
            return Grant()
        found = find_key(self.api_keys, key)
        return Grant(key=found) if found is not None else None

    def _find(self, key: str) -> _Secret | None:
        now = self.clock()
        found = None
        for secret in self._secrets:  # no early exit: the time taken does not tell which key matched
            if hmac.compare_digest(secret.value.encode(), key.encode()) and secret.expires_at > now:
                found = secret
        return found

    def _forget_expired(self) -> None:
        now = self.clock()
        self._secrets = [s for s in self._secrets if s.expires_at > now]


def _seconds(expires_after: Any) -> int:
    if expires_after is None:
        return DEFAULT_S
    if not isinstance(expires_after, dict):
        raise SecretRequestError("Invalid 'expires_after': expected an object.", "expires_after")
    anchor = expires_after.get("anchor", "created_at")
    if anchor != "created_at":
        raise SecretRequestError("Invalid 'expires_after.anchor': expected 'created_at'.", "expires_after.anchor")
    seconds = expires_after.get("seconds", DEFAULT_S)
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not MIN_S <= seconds <= MAX_S:
        raise SecretRequestError(f"Invalid 'expires_after.seconds': expected an integer from {MIN_S} to {MAX_S}.",
                                 "expires_after.seconds")
    return seconds
