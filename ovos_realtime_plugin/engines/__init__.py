"""Speech engines: OPM STT, TTS and VAD plugins, each on its own worker thread, loaded once at start-up.

- :mod:`.choice` — which plugin, with which config: mycroft.conf, the ``"realtime"`` section, the command line,
  and the offline defaults that install from PyPI;
- :mod:`.loader` — loading a plugin by name (with downloads refused unless allowed);
- :mod:`.stt`, :mod:`.tts`, :mod:`.vad` — the adapters behind the server's ``Transcriber``,
  ``Synthesizer`` and ``SpeechDetector`` interfaces;
- :mod:`.speech` — :func:`~.speech.load_speech_engines`, everything above put together and warmed.
"""
