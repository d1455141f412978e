"""Host candidates on UDP ports inside ``udp_port_range`` (a firewall that opens only those).

aioice binds each host candidate to any free port (``local_addr=(address, 0)`` in
``Connection.get_component_candidates``) and has no setting for it, so a call's ICE connections gather through
:func:`component_candidates` instead (set on those connections only, by :func:`.ice.restrict`): it binds inside
the configured range, and is aioice's own when none is configured.
STUN (server-reflexive) candidates share the host sockets, so they are in the range too; a TURN relay's
socket is aioice's own as before. A range with no free port left on an address fails that call at once with
:class:`PortRangeExhausted`, not a call that never connects.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import socket

import aioice.ice
from aioice import turn
from aioice.candidate import Candidate, candidate_foundation, candidate_priority
from aioice.ice import Connection, StunProtocol

log = logging.getLogger(__name__)
_own_candidates = Connection.get_component_candidates


class PortRangeExhausted(OSError):
    """Every port of ``udp_port_range`` is taken on an address."""


async def component_candidates(self: Connection, component: int, addresses: list[str],
                               port_range: tuple[int, int] | None, timeout: int = 5) -> list[Candidate]:
    """aioice's ``Connection.get_component_candidates``, host sockets bound inside ``port_range`` if given."""
    if port_range is None:
        return await _own_candidates(self, component, addresses, timeout)
    hosts = [p for p in [await _bind(self, address, port_range) for address in addresses] if p is not None]
    for protocol in hosts:
        protocol.local_candidate = _host_candidate(protocol, component)
    self._protocols += hosts
    relayed, reflexive = await asyncio.gather(
        _own_candidates(self, component, [], timeout),  # no address: only the TURN relay, if one is set
        _reflexive_candidates(self, hosts, timeout))
    return [p.local_candidate for p in hosts] + reflexive + relayed


async def _bind(connection: Connection, address: str, port_range: tuple[int, int]) -> StunProtocol | None:
    """A socket on ``address`` at the first free port of the range; None if the address can't be bound."""
    loop = asyncio.get_running_loop()
    low, high = port_range
    for port in range(low, high + 1):
        try:
            transport, protocol = await loop.create_datagram_endpoint(
                lambda: StunProtocol(connection), local_addr=(address, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                continue
            log.info("could not bind to %s:%d - %s", address, port, exc)
            return None
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                                      turn.UDP_SOCKET_BUFFER_SIZE)
        return protocol
    raise PortRangeExhausted(errno.EADDRINUSE, f"no free UDP port on {address} in udp_port_range "
                                               f"[{low}, {high}]: every port is taken (widen the range)")


def _host_candidate(protocol: StunProtocol, component: int) -> Candidate:
    host, port = protocol.transport.get_extra_info("sockname")[:2]
    return Candidate(foundation=candidate_foundation("host", "udp", host), component=component, transport="udp",
                     priority=candidate_priority(component, "host"), host=host, port=port, type="host")


async def _reflexive_candidates(connection: Connection, hosts: list[StunProtocol], timeout: int) -> list[Candidate]:
    """Each IPv4 host socket's public address by STUN, when a STUN server is set (none by default)."""
    if not connection.stun_server:
        return []
    tasks = [asyncio.create_task(aioice.ice.server_reflexive_candidate(p, connection.stun_server))
             for p in hosts if ipaddress.ip_address(p.local_candidate.host).version == 4]
    if not tasks:
        return []
    done, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    return [task.result()[0] for task in done if task.exception() is None]
