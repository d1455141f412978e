"""Streamed text cut into sentences for TTS (core/sentences.py)."""

from __future__ import annotations

import pytest

from ovos_realtime_plugin.core.sentences import SentenceSplitter


def cut(*deltas: str) -> list[list[str]]:
    """What each delta completes, then the flushed rest."""
    splitter = SentenceSplitter()
    return [splitter.feed(delta) for delta in deltas] + [[splitter.flush()]]


@pytest.mark.parametrize(("deltas", "expected"), [
    (("The sky is blue", ". It", " scatters light."), [[], ["The sky is blue."], [], ["It scatters light."]]),
    (("Is the sky blue?",), [["Is the sky blue?"], [""]]),  # a final ? ends it at once
    (("What a lovely day!", ' "Indeed."'), [["What a lovely day!"], [], ['"Indeed."']]),
    (("It costs 3.", "5 euros today."), [[], [], ["It costs 3.5 euros today."]]),  # a period waits
    (("Ask Dr. Smith about it. ", "Now."), [["Ask Dr. Smith about it."], [], ["Now."]]),
    (("Why?",), [[], ["Why?"]]),  # too short to cut alone
    (("Line one\nline two",), [["Line one"], ["line two"]]),
])
def test_sentences_are_cut_as_soon_as_they_are_complete(deltas: tuple[str, ...], expected: list[list[str]]) -> None:
    assert cut(*deltas) == expected
