"""ICE for real networks: which host addresses and UDP ports a call offers, public addresses behind a 1:1 NAT,
STUN.

aioice picks its host candidates itself (every interface but loopback, any free port) and has no setting for
either, so :func:`restrict` gives each call's own ICE connections a candidate gatherer that offers the configured
addresses (``["127.0.0.1"]`` makes loopback-only set-ups work) or, with none configured, aioice's own and
loopback, on ports inside ``udp_port_range`` when one is set (:mod:`.ports`). It is set on the call's objects
only: nothing of aioice's changes for anyone else in the process (inside ovos-PHAL, the device's other plugins).

:func:`cap_remote_candidates` keeps an offer's first candidates only: aioice checks every remote candidate it is
given, with retransmissions, so one offer naming 400 addresses made the server send 4,667 STUN packets to them
in 30 s. A browser gathers a handful (one per interface and kind); 20 leave room for a dual-stack machine with
a VPN and a TURN relay.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

import aioice.ice
from aioice.candidate import Candidate
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection

from ovos_realtime_plugin.server.webrtc import ports
from ovos_realtime_plugin.server.webrtc.settings import WebRTCSettings

log = logging.getLogger(__name__)
LOOPBACK = "127.0.0.1"


def rtc_configuration(settings: WebRTCSettings) -> RTCConfiguration:
    """A peer connection's configuration: no STUN unless configured (offline)."""
    return RTCConfiguration(iceServers=[RTCIceServer(url) for url in settings.stun_servers])


def host_addresses(settings: WebRTCSettings, use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """The addresses a call offers host candidates on."""
    if not settings.ice_host_addresses:  # the machine's own, and loopback: a page on this machine always connects
        own = list(aioice.ice.get_host_addresses(use_ipv4=use_ipv4, use_ipv6=use_ipv6))
        return own + ([LOOPBACK] if use_ipv4 and LOOPBACK not in own else [])
    return [a for a in settings.ice_host_addresses if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]


def restrict(pc: RTCPeerConnection, settings: WebRTCSettings) -> None:
    """Before ``pc`` gathers (``setLocalDescription``): its ICE connections offer :func:`host_addresses`, on
    ports inside ``udp_port_range`` when one is set."""
    for connection in _ice_connections(pc):
        if "get_component_candidates" not in vars(connection):
            connection.get_component_candidates = functools.partial(  # type: ignore[method-assign]  # this one's
                _component_candidates, connection, settings)


async def _component_candidates(connection: aioice.ice.Connection, settings: WebRTCSettings, component: int,
                                addresses: list[str], timeout: int = 5) -> list[Candidate]:
    if getattr(connection, "_transport_policy", aioice.ice.TransportPolicy.ALL) == aioice.ice.TransportPolicy.ALL:
        addresses = host_addresses(settings, getattr(connection, "_use_ipv4", True),
                                   getattr(connection, "_use_ipv6", True))
    return await ports.component_candidates(connection, component, addresses, settings.udp_port_range, timeout)


def _ice_connections(pc: RTCPeerConnection) -> list[aioice.ice.Connection]:
    """The aioice connections under ``pc``'s transports (media and data channel), each once."""
    dtls: list[Any] = [t.sender.transport for t in pc.getTransceivers()]
    if pc.sctp is not None:
        dtls.append(pc.sctp.transport)
    found: dict[int, aioice.ice.Connection] = {}
    for transport in dtls:
        gatherer = getattr(getattr(transport, "transport", None), "iceGatherer", None)
        connection = getattr(gatherer, "_connection", None)  # aiortc's RTCIceGatherer keeps it private
        if isinstance(connection, aioice.ice.Connection):
            found[id(connection)] = connection
        elif transport is not None:
            log.warning("aiortc laid out otherwise: this call's ICE offers aioice's own addresses and ports")
    return list(found.values())


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
