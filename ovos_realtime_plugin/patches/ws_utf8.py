"""websocket-client's UTF-8 check of every text frame, made by Python's own decoder.

Every bus message reaches ovos-bus-client through websocket-client, which checks that a text frame is UTF-8 before
handing it over: byte by byte in Python unless the ``wsaccel`` package is installed, ~0.46 ms per 1 KB message
here. A spoken turn's ~25 bus messages cost the skills service and this server ~10 ms of a core each, while the
answer's speech is being made. :func:`fast_utf8_check` puts Python's UTF-8 decoder (C, ~1 us per 1 KB) in its
place: it accepts the same complete messages. It refuses a message that ends inside a character, which the
byte-by-byte check let through to fail when it was decoded (the connection is dropped either way), and the close
frame of a peer whose reason ends inside a character (it was taken, the reason shown with a replacement character).
"""

from __future__ import annotations

import codecs


def valid_utf8(utfbytes: str | bytes) -> bool:
    """Whether ``utfbytes`` is UTF-8 (a ``str`` is checked as websocket-client does: its UTF-8 with surrogates).
    The signature is ``websocket._utils.validate_utf8``'s."""
    if isinstance(utfbytes, str):
        utfbytes = utfbytes.encode("utf-8", "surrogatepass")
    try:
        codecs.utf_8_decode(utfbytes, "strict", True)
    except UnicodeDecodeError:
        return False
    return True


def fast_utf8_check() -> None:
    """Make websocket-client's frame reader use :func:`valid_utf8` (idempotent; nothing if it is laid out
    otherwise or ``wsaccel`` already does the check)."""
    try:
        from websocket import _abnf, _utils
    except ImportError:
        return
    if "Utf8Validator" in vars(_utils):  # wsaccel's, in C already
        return
    if getattr(_abnf, "validate_utf8", None) is _utils.validate_utf8:
        _abnf.validate_utf8 = valid_utf8  # type: ignore[attr-defined]  # the name its frame reader calls
