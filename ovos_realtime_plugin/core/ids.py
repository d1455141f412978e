"""Identifiers with the prefixes the Realtime protocol uses (``event_``, ``item_``, ``resp_`` ...)."""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    """A random id such as ``item_3f9a…`` (80 random bits); ``prefix`` is given without the underscore."""
    return prefix + "_" + secrets.token_hex(10)
