"""ICE for real networks: which host addresses aioice offers, public addresses behind a 1:1 NAT, STUN.

aioice picks its host candidates itself (every interface but loopback) and has no setting for it, so
:func:`configure` replaces its address lookup, process-wide, by one that answers the configured
addresses (``["127.0.0.1"]`` makes loopback-only set-ups work) or, with none configured, aioice's own
and loopback.

:func:`cap_remote_candidates` keeps an offer's first candidates only: aioice checks every remote candidate it is
given, with retransmissions, so one offer naming 400 addresses made the server send 4,667 STUN packets to them
in 30 s. A browser gathers a handful (one per interface and kind); 20 leave room for a dual-stack machine with
a VPN and a TURN relay.
"""

from __future__ import annotations

import re

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer

from ovos_realtime_plugin.server.webrtc import ports
from ovos_realtime_plugin.server.webrtc.settings import WebRTCSettings

_own_addresses = aioice.ice.get_host_addresses
LOOPBACK = "127.0.0.1"
_configured: tuple[str, ...] = ()


def _host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    if not _configured:  # the machine's own, and loopback: a page on this machine (the console) always connects
        own = list(_own_addresses(use_ipv4=use_ipv4, use_ipv6=use_ipv6))
        return own + ([LOOPBACK] if use_ipv4 and LOOPBACK not in own else [])
    return [a for a in _configured if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]


def configure(settings: WebRTCSettings) -> RTCConfiguration:
    """Apply the host addresses and UDP port range; the peer connection's configuration (no STUN unless
    configured: offline)."""
    global _configured
    _configured = settings.ice_host_addresses
    aioice.ice.get_host_addresses = _host_addresses
    ports.apply(settings.udp_port_range)
    return RTCConfiguration(iceServers=[RTCIceServer(url) for url in settings.stun_servers])


_CANDIDATE = re.compile(r"^(a=candidate:\S+ \d+ udp \d+ )(\S+)( \d+ typ host.*)$", re.IGNORECASE)


def announce_public(sdp: str, public_ips: tuple[str, ...]) -> str:
    """Each host candidate again with each public address (same port: a 1:1 NAT keeps it)."""
    if not public_ips:
        return sdp
    lines: list[str] = []
    for line in sdp.split("\r\n"):
        lines.append(line)
        match = _CANDIDATE.match(line)
        if match:
            lines.extend(match.group(1) + ip + match.group(3) for ip in public_ips)
    return "\r\n".join(lines)


def cap_remote_candidates(sdp: str, limit: int) -> tuple[str, int]:
    """The offer with at most ``limit`` ``a=candidate`` lines, each address once, in the order the offer lists
    them; and how many lines were dropped."""
    kept: set[tuple[str, ...]] = set()
    lines: list[str] = []
    dropped = 0
    for line in sdp.splitlines(keepends=True):
        if line[:12].lower() == "a=candidate:":
            fields = line.split()
            address = tuple(f.lower() for f in fields[1:3] + fields[4:6])  # component, transport, address, port
            if len(kept) >= limit or address in kept:
                dropped += 1
                continue
            kept.add(address)
        lines.append(line)
    return "".join(lines), dropped
