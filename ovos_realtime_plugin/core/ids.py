"""Identifiers with the prefixes the Realtime protocol uses (``event_``, ``item_``, ``resp_`` ...)."""

from __future__ import annotations

import itertools
import secrets

_RUN = secrets.token_hex(6)
_EVENTS = itertools.count()


def new_id(prefix: str) -> str:
    """A random id such as ``item_3f9a…`` (80 random bits); ``prefix`` is given without the underscore."""
    return prefix + "_" + secrets.token_hex(10)


def event_id() -> str:
    """A server event's id: unique, not secret (this process's random prefix and a count), so cheap to make
    for every event sent."""
    return f"event_{_RUN}{next(_EVENTS):08x}"
