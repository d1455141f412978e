"""The sans-I/O Realtime session core: no asyncio, no websockets, no OVOS imports."""
