"""Identifiers with the prefixes the Realtime protocol uses (``event_``, ``item_``, ``resp_`` ...)."""

from __future__ import annotations

import secrets

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def new_id(prefix: str, length: int = 20) -> str:
    """A random id such as ``item_3xQ...``; ``prefix`` is given without the underscore."""
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))
