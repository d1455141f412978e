"""Errors the session reports to its client as one ``error`` event, after which it goes on.

h11's split: :class:`ProtocolError` is *the client misused the protocol* (``invalid_request_error``);
an engine or bus failure is ``server_error`` and is reported through :func:`server_error`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ProtocolError(Exception):
    """A bad client event: answered with an ``error`` event carrying ``code`` and ``param``."""

    code: str | None
    message: str
    param: str | None = None
    type: str = "invalid_request_error"

    def __str__(self) -> str:
        return self.message

    def body(self) -> dict[str, Any]:
        """The error as a ``failed`` event carries it (no client event to point at)."""
        return {"type": self.type, "code": self.code, "message": self.message, "param": self.param}

    def payload(self, client_event_id: str | None) -> dict[str, Any]:
        """The error as an ``error`` event carries it."""
        return {**self.body(), "event_id": client_event_id}


def server_error(message: str, code: str | None = "server_error") -> ProtocolError:
    return ProtocolError(code=code, message=message, type="server_error")


def quote_list(values: list[str]) -> str:
    """``'a', 'b', and 'c'`` — the way the hosted service lists supported values."""
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def invalid_value(value: object, supported: list[str], param: str | None) -> ProtocolError:
    return ProtocolError("invalid_value", f"Invalid value: '{value}'. Supported values are: {quote_list(supported)}.",
                         param)


def item_not_found(item_id: str, param: str = "item_id") -> ProtocolError:
    return ProtocolError("item_not_found", f"Item with item_id '{item_id}' not found.", param)
