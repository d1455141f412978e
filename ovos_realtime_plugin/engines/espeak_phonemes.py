"""piper's phonemes from libespeak-ng inside this process instead of one ``espeak-ng`` process per clause.

The OVOS piper plugin phonemizes each clause by running ``espeak-ng -q -x --ipa -v LANG`` with the clause on
stdin: ~20 ms of process start-up per clause, on the path to a reply's first audio. The command-line program is a
thin wrapper around the library it ships with (``libespeak-ng.so.1``, installed with the ``espeak-ng`` package),
so here the library does the same work in-process, the way the program does it: a phoneme trace
(``espeak_SetPhonemeTrace``, IPA names) written to a memory stream while the text is synthesized synchronously and
the audio thrown away. The output is the program's, character for character (tests compare them on sentences in
several languages); the plugin's own clause splitting and punctuation handling are unchanged.

Where the library cannot be loaded, the plugin keeps its command-line phonemizer.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

LIBRARY = "libespeak-ng.so.1"
AUDIO_OUTPUT_SYNCHRONOUS = 2
POS_CHARACTER = 1
CHARS_UTF8 = 1
PHONEMES_IN_BRACKETS = 0x100  # the program's flags: [[...]] is phoneme input, a pause at the end
END_PAUSE = 0x1000
TRACE_IPA = 0x01 | 0x02  # espeakPHONEMES_SHOW | espeakPHONEMES_IPA: what -x --ipa asks for
FGETS_BYTES = 999  # the program reads a pipe with fgets into a 1,000-byte buffer
SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)


class LibEspeak:
    """One espeak-ng instance (the library keeps global state: calls are serialized)."""

    def __init__(self, library: str = LIBRARY) -> None:
        self._lib = ctypes.CDLL(library)
        self._libc = ctypes.CDLL(ctypes.util.find_library("c"))
        self._libc.open_memstream.restype = ctypes.c_void_p
        self._libc.open_memstream.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t)]
        self._libc.fflush.argtypes = self._libc.fclose.argtypes = [ctypes.c_void_p]
        self._libc.free.argtypes = [ctypes.c_void_p]
        self._lib.espeak_SetPhonemeTrace.argtypes = [ctypes.c_int, ctypes.c_void_p]
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                           ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        if self._lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None, 0) < 0:
            raise OSError("espeak-ng did not initialize (is espeak-ng-data installed?)")
        self._discard = SynthCallback(lambda wav, samples, events: 0)  # kept alive: the library holds it
        self._lib.espeak_SetSynthCallback(self._discard)
        self._voice: str | None = None
        self._lock = threading.Lock()

    def phonemes(self, text: str, voice: str) -> str:
        """What ``espeak-ng -q -x --ipa -v VOICE`` prints for ``text``, without its surrounding whitespace."""
        pieces = fgets_pieces(text.encode("utf-8", "replace"))
        with self._lock:
            if voice != self._voice:
                if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                    raise ValueError(f"espeak-ng has no voice {voice!r}")
                self._voice = voice
            buffer, size = ctypes.c_void_p(), ctypes.c_size_t()
            stream = self._libc.open_memstream(ctypes.byref(buffer), ctypes.byref(size))
            if not stream:
                raise MemoryError("open_memstream failed")
            try:
                self._lib.espeak_SetPhonemeTrace(TRACE_IPA, stream)
                error = 0
                for piece in pieces:
                    data = piece + b"\0"
                    error = error or self._lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0,
                                                            CHARS_UTF8 | PHONEMES_IN_BRACKETS | END_PAUSE, None, None)
                self._lib.espeak_Synchronize()
                self._lib.espeak_SetPhonemeTrace(0, None)
                self._libc.fflush(stream)
                out = ctypes.string_at(buffer.value, size.value) if buffer.value else b""
            finally:
                self._libc.fclose(stream)
                self._libc.free(buffer)
        if error != 0:
            raise RuntimeError(f"espeak-ng could not phonemize the text (error {error})")
        return out.decode("utf-8", "replace").strip()


def fgets_pieces(data: bytes, size: int = FGETS_BYTES) -> list[bytes]:
    """How the program reads piped text: line by line (``fgets``), a line longer than its buffer in pieces; each
    piece is synthesized on its own, so each is a clause boundary."""
    pieces = []
    while data:
        end = data.find(b"\n", 0, size)
        cut = size if end < 0 else end + 1
        pieces.append(data[:cut])
        data = data[cut:]
    return pieces


def phonemize_in_process(plugin: Any) -> None:
    """Give every piper voice the plugin has loaded (``PiperTTSPlugin.engines``) the in-process phonemizer.
    Idempotent and cheap: called at load and before each sentence (voices load lazily)."""
    voices = getattr(type(plugin), "engines", None)
    if not isinstance(voices, dict) or not voices:
        return
    swap = _in_process_phonemizer()
    if swap is None:
        return
    program, library = swap
    for voice in voices.values():
        if type(getattr(voice, "phonemizer", None)) is program:
            voice.phonemizer = library


@functools.cache
def _in_process_phonemizer() -> tuple[type, Any] | None:
    """The plugin's espeak phonemizer class, and an instance of it (its clause splitting and punctuation rules)
    with the library in place of the program; ``None`` where either is missing (the plugin keeps the program)."""
    try:
        from ovos_tts_plugin_piper.espeak_wrapper import EspeakPhonemizer  # type: ignore[import-untyped]

        espeak = LibEspeak()
    except (ImportError, OSError) as error:
        log.info("piper keeps the espeak-ng program: %s", error)
        return None

    class InProcessEspeak(EspeakPhonemizer):  # type: ignore[misc]
        def phonemize_string(self, text: str, lang: str) -> str:
            return espeak.phonemes(text, self.get_lang(lang))

    return EspeakPhonemizer, InProcessEspeak()
