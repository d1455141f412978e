"""The client events, as the edge names them: the models live in the core (its input vocabulary, GA shape)."""

from ovos_realtime_plugin.core.client_events import *  # noqa: F403
from ovos_realtime_plugin.core.client_events import ALIASES, CLIENT_EVENTS, ClientEvent  # noqa: F401
