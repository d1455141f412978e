"""Ephemeral client secrets (``ek_...``): minted by an API key holder, accepted until they expire.

They live in memory only (a restart revokes them), carry the session config they were minted with, and cannot
mint further keys. Each is kept by the SHA-256 of its value, so a lookup is one dict access whatever the number
of live keys (and the comparison of the digest found is constant-time). Everything a key holder can create here
is bounded (:class:`SecretLimits`): live keys per API key, mints per minute, the size of the session a key
carries; expired keys are purged by :meth:`ClientSecrets.purge`, which the server runs on a timer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ovos_realtime_plugin.server.api_keys import ApiKey, find_key
from ovos_realtime_plugin.server.limits import FrameRate

PREFIX = "ek_"
MIN_S, MAX_S, DEFAULT_S = 10, 7200, 600
LIMIT_KEYS = ("max_live_per_key", "mints_per_minute", "max_session_bytes")


@dataclass(frozen=True)
class SecretLimits:
    """``"realtime": {"client_secrets": {...}}``."""

    max_live_per_key: int = 100
    """Unexpired ephemeral keys one API key (or, with no keys configured, the server) may hold at once."""
    mints_per_minute: int = 60
    """Mints one API key may make a minute (a burst of as many, refilled evenly)."""
    max_session_bytes: int = 16 * 1024
    """The JSON size of the session a key may carry."""


def secret_limits_from_config(section: Mapping[str, Any]) -> SecretLimits:
    unknown = set(section) - set(LIMIT_KEYS)
    if unknown:
        raise ValueError(f"unknown \"client_secrets\" settings: {sorted(unknown)}; known: {list(LIMIT_KEYS)}")
    values = {key: int(section[key]) for key in LIMIT_KEYS if key in section}
    if any(value <= 0 for value in values.values()):
        raise ValueError(f"\"client_secrets\" limits must be positive, got {values}")
    return SecretLimits(**values)


class SecretRequestError(ValueError):
    """A client_secrets request that does not follow OpenAI's shape; ``param`` names the field."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class MintRefused(Exception):
    """A mint past a bound: ``status`` and ``code`` for the HTTP answer."""

    def __init__(self, message: str, status: int = 429, code: str = "rate_limit_exceeded") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


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
    digest: bytes
    expires_at: float
    session: dict[str, Any]
    minted_by: ApiKey | None


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


def _owner(key: ApiKey | None) -> str | None:
    return key.name if key is not None else None


class ClientSecrets:
    def __init__(self, api_keys: tuple[ApiKey, ...], clock: Callable[[], float] = time.time,
                 limits: SecretLimits | None = None) -> None:
        self.api_keys = api_keys
        self.clock = clock
        self.limits = limits or SecretLimits()
        self._secrets: dict[bytes, _Secret] = {}
        self._live: Counter[str | None] = Counter()
        self._buckets: dict[str | None, FrameRate] = {}  # mints a minute, per API key

    def __len__(self) -> int:
        return len(self._secrets)

    def mint(self, body: dict[str, Any], minted_by: ApiKey | None = None,
             check_session: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """OpenAI's ``POST /v1/realtime/client_secrets``: the response body for request ``body``; the key acts
        for ``minted_by`` (its limits and permissions). ``check_session`` raises on a session no connection could
        open (as OpenAI refuses it at mint time). Raises :class:`SecretRequestError` or :class:`MintRefused`."""
        seconds = _seconds(body.get("expires_after"))
        session = body.get("session") or {"type": "realtime"}
        if not isinstance(session, dict):
            raise SecretRequestError("Invalid 'session': expected an object.", "session")
        size = len(json.dumps(session))
        if size > self.limits.max_session_bytes:
            raise SecretRequestError(f"Invalid 'session': {size} bytes of JSON, more than the "
                                     f"{self.limits.max_session_bytes} a key may carry.", "session")
        if check_session is not None:
            check_session(session)
        owner, now = _owner(minted_by), self.clock()
        self.purge()
        if self._live[owner] >= self.limits.max_live_per_key:
            raise MintRefused(f"This API key already holds {self.limits.max_live_per_key} unexpired ephemeral keys; "
                              "let some expire (or mint shorter-lived ones) before minting more.")
        per_minute = self.limits.mints_per_minute
        bucket = self._buckets.setdefault(owner, FrameRate(per_minute / 60.0, now, burst=per_minute))
        if not bucket.allow(now):
            raise MintRefused(f"Too many ephemeral keys minted: at most {self.limits.mints_per_minute} a minute "
                              "for one API key.")
        value = PREFIX + secrets.token_urlsafe(24)
        secret = _Secret(_digest(value), now + seconds, dict(session), minted_by)
        self._secrets[secret.digest] = secret
        self._live[owner] += 1
        return {"value": value, "expires_at": int(secret.expires_at), "session": secret.session}

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
        digest = _digest(key)
        secret = self._secrets.get(digest)
        if secret is None or not hmac.compare_digest(secret.digest, digest) or secret.expires_at <= self.clock():
            return None
        return secret

    def purge(self) -> int:
        """Forget every expired key; how many were."""
        now = self.clock()
        expired = [s for s in self._secrets.values() if s.expires_at <= now]
        for secret in expired:
            del self._secrets[secret.digest]
            owner = _owner(secret.minted_by)
            self._live[owner] -= 1
            if self._live[owner] <= 0:
                del self._live[owner]
        return len(expired)


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
