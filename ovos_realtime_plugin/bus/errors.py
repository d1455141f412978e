"""Failures of the OVOS side. Raised out of :meth:`OvosAssistant.respond`; the server turns them
into ``server_error`` (and, inside a response, ``response.done`` with status ``failed``)."""

from __future__ import annotations


class BusError(RuntimeError):
    """Something went wrong talking to OVOS over the messagebus."""


class BusUnavailableError(BusError):
    """Not connected to the messagebus (never reached it, or reconnecting after a drop)."""


class SkillsUnavailableError(BusError):
    """The skills service behind the bus is down (the standalone daemon is restarting it)."""


class BusDisconnectedError(BusError):
    """The messagebus connection dropped while we were waiting on it."""


class SkillsTimeoutError(BusError):
    """The skills did not finish answering within the turn's time limit."""


class ServiceStartError(RuntimeError):
    """An OVOS service (messagebus, skills) could not be started or never became ready."""


class ServiceExitedError(RuntimeError):
    """An OVOS service this process started (the skills service) exited on its own."""
