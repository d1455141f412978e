"""ovos-realtime: an OpenAI-Realtime-compatible voice server for OpenVoiceOS."""

__version__ = "0.1.0"
