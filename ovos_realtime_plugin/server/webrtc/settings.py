"""WebRTC settings: ``"realtime": {"webrtc": {...}}`` in mycroft.conf."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KEYS = ("ice_host_addresses", "nat_1to1_ips", "udp_port_range", "stun_servers", "cors_origins")


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


def webrtc_from_config(section: dict[str, Any]) -> WebRTCSettings:
    unknown = set(section) - set(KEYS)
    if unknown:
        raise ValueError(f"unknown \"webrtc\" settings: {sorted(unknown)}; known: {list(KEYS)}")
    ports = section.get("udp_port_range")
    if ports is not None and (len(ports) != 2 or not 0 < int(ports[0]) <= int(ports[1]) < 65536):
        raise ValueError(f"\"udp_port_range\" must be [min, max] within 1..65535, got {ports}")
    return WebRTCSettings(
        ice_host_addresses=tuple(section.get("ice_host_addresses") or ()),
        nat_1to1_ips=tuple(section.get("nat_1to1_ips") or ()),
        udp_port_range=(int(ports[0]), int(ports[1])) if ports else None,
        stun_servers=tuple(section.get("stun_servers") or ()),
        cors_origins=tuple(section.get("cors_origins") or ("*",)))
