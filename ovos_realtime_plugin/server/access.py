"""Who is asking: the ``Host`` and browser ``Origin`` rules every request passes before a handler runs, the
client's address (forwarded headers believed only from ``trusted_proxies``), and when a request comes from the
operator's own machine.

The skills behind this server act on a home, so a page the owner happens to visit must not drive them:

- ``Host`` must name this server: a loopback name (``localhost``, ``*.localhost``, ``127.x``, ``::1``), the
  address it is bound to, the machine's own host name (and ``<name>.local``), any IP literal when it listens on
  every address, or a name in ``allowed_hosts``. A DNS-rebinding page reaches us under its own name, so it is
  refused here (421) whatever it asks for.
- A browser ``Origin`` must be this server's own (same host and port as ``Host``) or in ``allowed_origins``.
  Another origin is refused (403) on every endpoint when no API key is configured (there is no credential to
  ask for), and with keys is let through only to the endpoints where a key is the credential (the Realtime
  WebSocket, ``/calls``, ``client_secrets``) and only from ``cors_origins``: OpenAI's model, where a page
  holding an ephemeral key may call from anywhere. The console's key endpoint and ``/metrics`` never take
  another origin.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
WILDCARDS = ("", "0.0.0.0", "::")
FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-IP",
                      "X-Client-IP", "True-Client-IP", "CF-Connecting-IP", "Via")
KEYED_PATHS = re.compile(r"^/(v1/)?realtime(/calls(/[^/]+)?|/client_secrets|/sessions|/transcription_sessions)?/?$")
"""Where another origin may call a server with keys (the key is the credential there)."""


@dataclass(frozen=True)
class AccessSettings:
    """``"realtime"``: ``allowed_hosts``, ``allowed_origins``, ``trusted_proxies`` (README, *Security*)."""

    allowed_hosts: tuple[str, ...] = ()
    """Further names ``Host`` may carry: ``voice.example.com``, ``.example.com`` (it and its subdomains), ``*``."""
    allowed_origins: tuple[str, ...] = ()
    """Browser origins treated as this server's own (``https://voice.example.com``), e.g. behind a proxy."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or networks (``10.0.0.5``, ``10.0.0.0/8``) whose ``X-Forwarded-For`` / ``Forwarded`` is believed."""


def access_from_config(section: Mapping[str, object]) -> AccessSettings:
    def strings(key: str) -> tuple[str, ...]:
        value = section.get(key) or ()
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise ValueError(f"\"{key}\" must be a list of strings, got {value!r}")
        return tuple(str(v).strip() for v in value if str(v).strip())

    settings = AccessSettings(tuple(h.lower().rstrip(".") for h in strings("allowed_hosts")),
                              tuple(o.lower().rstrip("/") for o in strings("allowed_origins")),
                              strings("trusted_proxies"))
    _networks(settings.trusted_proxies)  # refuse a malformed entry at start-up
    return settings


def _networks(entries: Iterable[str]) -> tuple[IpNetwork, ...]:
    try:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)
    except ValueError as exc:
        raise ValueError(f"\"trusted_proxies\": {exc}") from None


def split_host(host: str) -> tuple[str, int | None]:
    """``Host`` → (lower-case name without a trailing dot or IPv6 brackets, port or ``None``); ``("", None)``
    when it cannot be read."""
    host = host.strip().lower()
    match = re.fullmatch(r"\[([0-9a-f:.%a-z]+)\](?::(\d{1,5}))?|([^:\[\]]*)(?::(\d{1,5}))?", host)
    if match is None:
        return "", None
    name = (match.group(1) or match.group(3) or "").rstrip(".")
    port = match.group(2) or match.group(4)
    return name, int(port) if port else None


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return None


def _is_loopback_ip(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def is_loopback_name(name: str) -> bool:
    """A name every browser resolves to this machine itself (it cannot be rebound to another)."""
    address = _ip(name)
    if address is not None:
        return _is_loopback_ip(address)
    return name == "localhost" or name.endswith(".localhost")


def is_loopback_address(address: str | None) -> bool:
    ip = _ip(address or "")
    return ip is not None and _is_loopback_ip(ip)


class AccessPolicy:
    """The rules of one server: built once from its settings (see the module's docstring)."""

    def __init__(self, settings: AccessSettings, *, bound_host: str, keyed: bool,
                 cors_origins: tuple[str, ...], machine_name: str | None = None) -> None:
        self.settings = settings
        self.keyed = keyed
        self.cors_origins = tuple(o.lower().rstrip("/") for o in cors_origins)
        self._wildcard = bound_host in WILDCARDS
        name = (machine_name if machine_name is not None else socket.gethostname()).lower().rstrip(".")
        own = {bound_host.lower().strip("[]")} if not self._wildcard else set()
        self._own_names = own | ({name, name + ".local"} if name else set())
        self._proxies = _networks(settings.trusted_proxies)

    # -- Host -----------------------------------------------------------------------------------
    def host_allowed(self, host: str | None) -> bool:
        name, _ = split_host(host or "")
        if not name:
            return False
        if is_loopback_name(name) or name in self._own_names:
            return True
        if self._wildcard and _ip(name) is not None:  # an IP literal is never a rebound name
            return True
        for allowed in self.settings.allowed_hosts:
            if allowed == "*" or name == allowed or (allowed.startswith(".") and
                                                     (name.endswith(allowed) or name == allowed[1:])):
                return True
        return False

    # -- Origin ---------------------------------------------------------------------------------
    def same_origin(self, origin: str, host: str | None) -> bool:
        """``origin`` is this server's own: same host and port as the request's ``Host``, or an allowed origin."""
        origin = origin.strip().lower().rstrip("/")
        if origin in self.settings.allowed_origins or "*" in self.settings.allowed_origins:
            return True
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
            return False  # "null" (a file, a sandboxed frame), or not an origin at all
        default = 443 if parts.scheme == "https" else 80
        origin_name, origin_port = split_host(parts.netloc)
        host_name, host_port = split_host(host or "")
        return bool(origin_name) and (origin_name, origin_port or default) == (host_name, host_port or default)

    def cross_origin_allowed(self, origin: str, path: str) -> bool:
        """May a page on another origin call ``path``: only with keys, only where a key is the credential."""
        if not self.keyed or KEYED_PATHS.match(path) is None:
            return False
        origin = origin.strip().lower().rstrip("/")
        return "*" in self.cors_origins or origin in self.cors_origins

    # -- the client -----------------------------------------------------------------------------
    def trusted(self, peer: str | None) -> bool:
        ip = _ip(peer or "")
        return ip is not None and any(ip in network for network in self._proxies)

    def client_address(self, peer: str | None, headers: Mapping[str, str]) -> str:
        """The client's address: the peer's, or, from a trusted proxy, the nearest untrusted address it names
        in ``X-Forwarded-For``."""
        if not self.trusted(peer):
            return peer or ""
        hops = [h.strip() for h in headers.get("X-Forwarded-For", "").split(",") if h.strip()]
        for hop in reversed(hops):
            if not self.trusted(hop):
                return hop if _ip(hop) is not None else peer or ""
        return hops[0] if hops else peer or ""

    def forwarded(self, peer: str | None, headers: Mapping[str, str]) -> bool:
        """A proxy that is not one of ``trusted_proxies`` forwarded this request for someone else."""
        return not self.trusted(peer) and any(h in headers for h in FORWARDING_HEADERS)

    def local(self, peer: str | None, headers: Mapping[str, str], server_port: int | None) -> bool:
        """The operator's own machine: a loopback peer, no proxy in the way (no forwarding header at all), a
        loopback ``Host`` naming this server's own port, and no ``Origin`` or this server's own."""
        if not is_loopback_address(peer) or any(h in headers for h in FORWARDING_HEADERS):
            return False
        host = headers.get("Host")
        name, port = split_host(host or "")
        if not is_loopback_name(name) or (port or 80) != server_port:
            return False
        origin = headers.get("Origin")
        return origin is None or self._plain_same_origin(origin, host)

    def _plain_same_origin(self, origin: str, host: str | None) -> bool:
        parts = urlsplit(origin.strip().lower())
        return parts.scheme in ("http", "https") and split_host(parts.netloc) == split_host(host or "")
