"""The piper plugin's ``EspeakPhonemizer`` asking one long-lived espeak-ng program per language
(:mod:`~ovos_realtime_plugin.engines.espeak_phonemes`) instead of starting one per clause: ~2 ms a clause instead
of ~19. Text the long-lived program would not answer as the one-shot one does still goes to the plugin's own."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from ovos_realtime_plugin.engines import espeak_phonemes
from ovos_realtime_plugin.engines.espeak_phonemes import PhonemizerStopped, needs_one_shot


def use_long_lived_programs(phonemizer_class: Any | None = None) -> bool:
    """Make the piper plugin's ``EspeakPhonemizer`` ask ``espeak_phonemes.PROGRAMS`` (once). False: no such plugin
    here."""
    if phonemizer_class is None:
        try:
            from ovos_tts_plugin_piper.espeak_wrapper import EspeakPhonemizer  # type: ignore[import-untyped]
        except ImportError:
            return False
        phonemizer_class = EspeakPhonemizer
    one_shot: Callable[[Any, str, str], str] = phonemizer_class.phonemize_string
    if getattr(one_shot, "_realtime_one_shot", None) is not None:
        return True

    def phonemize_string(self: Any, text: str, lang: str) -> str:
        voice = self.get_lang(lang)
        if needs_one_shot(text):
            return one_shot(self, text, voice)
        try:
            return espeak_phonemes.PROGRAMS.phonemes(text, voice)
        except PhonemizerStopped as exc:  # the plugin's own error: that sentence fails
            raise _plugin_error(phonemizer_class, str(exc)) from exc

    phonemize_string._realtime_one_shot = one_shot  # type: ignore[attr-defined]
    phonemizer_class.phonemize_string = phonemize_string
    return True


def _plugin_error(phonemizer_class: Any, message: str) -> Exception:
    error: type[Exception] = getattr(sys.modules[phonemizer_class.__module__], "EspeakError", RuntimeError)
    return error(message)
