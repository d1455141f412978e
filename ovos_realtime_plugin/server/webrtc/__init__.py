"""WebRTC calls (``/v1/realtime/calls``) over aiortc: a second transport over the same session core."""
