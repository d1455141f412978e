"""Calls not yet connected, counted per API key and per client address, each within its limit.

A call that never connects holds a session slot and UDP sockets until ``connect_timeout_s``; without these
limits one client could post offers faster than they time out and take every slot (997 offers filled the
1,000-session limit in 8 s). A ticket is taken before the call is set up and given back once, when it connects
or ends, whichever comes first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable


class TooManyConnecting(Exception):
    """An offer past a limit; the message says which."""


class Ticket:
    def __init__(self, calls: ConnectingCalls, key: Hashable, address: str) -> None:
        self._calls = calls
        self.key = key
        self.address = address
        self.held = True

    def release(self) -> None:
        """The call connected or ended: it no longer counts (a second release does nothing)."""
        if self.held:
            self.held = False
            self._calls.forget(self)


class ConnectingCalls:
    def __init__(self, per_key: int, per_address: int) -> None:
        self.per_key = per_key
        self.per_address = per_address
        self._keys: Counter[Hashable] = Counter()
        self._addresses: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self._keys.values())

    def admit(self, key: Hashable, address: str) -> Ticket:
        """A ticket for one more connecting call of ``key`` from ``address``; :class:`TooManyConnecting` past
        either limit."""
        if self._keys[key] >= self.per_key:
            raise TooManyConnecting(f"This API key already has {self.per_key} calls connecting (not yet "
                                    "connected), its limit: wait until one connects or times out.")
        if self._addresses[address] >= self.per_address:
            raise TooManyConnecting(f"This client address already has {self.per_address} calls connecting (not "
                                    "yet connected), its limit: wait until one connects or times out.")
        self._keys[key] += 1
        self._addresses[address] += 1
        return Ticket(self, key, address)

    def forget(self, ticket: Ticket) -> None:
        self._keys[ticket.key] -= 1
        if self._keys[ticket.key] <= 0:
            del self._keys[ticket.key]
        self._addresses[ticket.address] -= 1
        if self._addresses[ticket.address] <= 0:
            del self._addresses[ticket.address]
