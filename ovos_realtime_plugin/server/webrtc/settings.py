"""WebRTC settings: ``"realtime": {"webrtc": {...}}`` in mycroft.conf."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KEYS = ("ice_host_addresses", "nat_1to1_ips", "udp_port_range", "stun_servers", "cors_origins", "connect_timeout_s",
        "max_connecting_per_key", "max_connecting_per_address", "max_remote_candidates")
MAX_CONNECT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class WebRTCSettings:
    ice_host_addresses: tuple[str, ...] = ()
    """The addresses offered as ICE host candidates; empty: the machine's own (loopback left out)."""
    nat_1to1_ips: tuple[str, ...] = ()
    """Public addresses announced in place of the host addresses (a server behind a 1:1 NAT)."""
    udp_port_range: tuple[int, int] | None = None
    stun_servers: tuple[str, ...] = ()
    """``stun:host:port`` URLs; none by default: offline."""
    cors_origins: tuple[str, ...] = ("*",)
    """Origins whose pages may post an offer; any by default (the ephemeral key is the credential)."""
    connect_timeout_s: float = 20.0
    """A call not connected (ICE and DTLS) this long after its offer is hung up: its slot and ports freed."""
    max_connecting_per_key: int = 8
    """Calls not yet connected at once per API key (an ``ek_`` counts for the key that minted it)."""
    max_connecting_per_address: int = 8
    """Calls not yet connected at once per client address."""
    max_remote_candidates: int = 20
    """``a=candidate`` lines of an offer kept (the first ones): the addresses the server may send STUN checks to."""


def webrtc_from_config(section: dict[str, Any]) -> WebRTCSettings:
    unknown = set(section) - set(KEYS)
    if unknown:
        raise ValueError(f"unknown \"webrtc\" settings: {sorted(unknown)}; known: {list(KEYS)}")
    ports = section.get("udp_port_range")
    if ports is not None and (len(ports) != 2 or not 0 < int(ports[0]) <= int(ports[1]) < 65536):
        raise ValueError(f"\"udp_port_range\" must be [min, max] within 1..65535, got {ports}")
    defaults = WebRTCSettings()
    timeout = float(section.get("connect_timeout_s", defaults.connect_timeout_s))
    if not 0 < timeout <= MAX_CONNECT_TIMEOUT_S:
        raise ValueError(f"\"connect_timeout_s\" must be more than 0 and at most {MAX_CONNECT_TIMEOUT_S:g}, "
                         f"got {timeout:g}")
    counts = {name: int(section.get(name, getattr(defaults, name)))
              for name in ("max_connecting_per_key", "max_connecting_per_address", "max_remote_candidates")}
    for name, count in counts.items():
        if count < 1:
            raise ValueError(f"\"{name}\" must be at least 1, got {count}")
    return WebRTCSettings(
        ice_host_addresses=tuple(section.get("ice_host_addresses") or ()),
        nat_1to1_ips=tuple(section.get("nat_1to1_ips") or ()),
        udp_port_range=(int(ports[0]), int(ports[1])) if ports else None,
        stun_servers=tuple(section.get("stun_servers") or ()),
        cors_origins=tuple(section.get("cors_origins") or ("*",)),
        connect_timeout_s=timeout, **counts)
