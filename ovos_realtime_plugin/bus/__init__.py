"""The OVOS side: a Realtime response answered by OVOS skills over the messagebus.

- :mod:`.names` — every bus message name (stable and alpha spellings) and pipeline stage id;
- :mod:`.client` — :class:`~.client.BusConnection`, the only importer of ovos-bus-client;
- :mod:`.session` — one connection's OVOS session dict and the per-turn pipeline policy;
- :mod:`.states` — every state table of the OVOS side (the OVOS turn, the skills' availability);
- :mod:`.assistant` — :class:`~.assistant.OvosAssistant`, the ``Assistant`` of one Realtime connection, composed
  of :mod:`.session_link`, :mod:`.skill_answer`, :mod:`.fallback`, :mod:`.intent_runs` and :mod:`.anticipation`;
- :mod:`.embedded_bus` — the messagebus on a thread of this process, with TCP_NODELAY;
- :mod:`.skills_service` — ovos-core's skills service as a child process on a given bus;
- :mod:`.errors`, :mod:`.dialogs` — failures raised out of a response; our own spoken lines.

Nothing is imported here, so importing :mod:`.names` stays cheap.
"""
