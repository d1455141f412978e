"""Cut streamed text into sentences, so each can be spoken as soon as it is complete."""

from __future__ import annotations

import re

# a sentence ends at . ! ? … (optionally closed by quotes/brackets) followed by white space, or at a newline
_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+|\n+")
# ... and at a final ? or ! at once: unlike a period (3.5, e.g., Dr.) they rarely end anything but a sentence,
# and waiting for the next token to confirm costs a token's time before the sentence can be spoken
_ENDS_NOW = re.compile(r"[!?][\"')\]]*$")
_MIN_CHARS = 12  # "Dr. Smith" style abbreviations: do not cut pieces shorter than this


class SentenceSplitter:
    """Feed text deltas; get back the sentences they complete."""

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, text: str) -> list[str]:
        self._pending += text
        sentences: list[str] = []
        start = 0
        for match in _END.finditer(self._pending):
            candidate = self._pending[start:match.end()].strip()
            if len(candidate) >= _MIN_CHARS or "\n" in match.group():
                if candidate:
                    sentences.append(candidate)
                start = match.end()
        rest = self._pending[start:].strip()
        if len(rest) >= _MIN_CHARS and _ENDS_NOW.search(rest):
            sentences.append(rest)
            start = len(self._pending)
        self._pending = self._pending[start:]
        return sentences

    @property
    def pending_chars(self) -> int:
        """Characters received but not yet part of a complete sentence."""
        return len(self._pending)

    def flush(self) -> str:
        """The unfinished rest (possibly empty); the splitter is empty afterwards."""
        rest, self._pending = self._pending.strip(), ""
        return rest
