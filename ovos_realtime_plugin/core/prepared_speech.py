"""Speech made ahead: which sentences of an answer found before its turn ended to synthesize early, and which of
the response's sentences they are.

When the user pauses, the session anticipates the answer (:class:`~.effects.Anticipate`). If the assistant finds
it early (a skill that only answers, on the OVOS bus), its text comes back here (:meth:`PreparedSpeech.early_answer`):
it is cut into sentences as the response will cut it, and the first ones are synthesized ahead
(:class:`~.effects.PrepareSpeech`), each under a key. When the response to that turn speaks the same sentence at
the same place with the same voice, its :class:`~.effects.Synthesize` carries that key, so the driver uses the
audio made ahead (or, with a store that makes each sentence once, joins its making) and never cuts or compares
text itself.

One answer at a time: what no response will speak is dropped (:class:`~.effects.DropPreparedSpeech`) when the
user pauses again, when a response to anything else starts, or when the response to the turn says something else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from ovos_realtime_plugin.core.effects import (
    DropPreparedSpeech,
    Effect,
    PreparedSentence,
    PrepareSpeech,
    Synthesize,
)
from ovos_realtime_plugin.core.ids import new_id
from ovos_realtime_plugin.core.items import Item
from ovos_realtime_plugin.core.sentences import SentenceSplitter

PREPARED_SENTENCES = 1  # the driver speaks in order: a second one still being made ahead when the turn ends
# would hold up the response's first


@dataclass(frozen=True)
class AnticipatedTurn:
    """The paused turn whose answer may be prepared, and how that answer would be spoken."""

    item_id: str
    voice: str
    speed: float
    language: str | None
    audio: bool


def sentences_of(text: str) -> list[str]:
    """``text`` cut as a response cuts a whole utterance (fed at once, then flushed)."""
    splitter = SentenceSplitter()
    return [sentence for sentence in (*splitter.feed(text), splitter.flush()) if sentence]


def answers(context: Sequence[Item], item_id: str) -> bool:
    """Whether a response with ``context`` answers the turn ``item_id``: it is the newest item (listings of MCP
    tools, which a ``session.update`` adds, are looked past)."""
    for item in reversed(context):
        if item.type != "mcp_list_tools":
            return item.id == item_id
    return False


class PreparedSpeech:
    """The session's speech made ahead; effects go onto the session's list."""

    def __init__(self, effects: list[Effect]) -> None:
        self._effects = effects
        self._turn: AnticipatedTurn | None = None
        self._ahead: list[tuple[int, PreparedSentence]] = []
        """Prepared and not yet spoken, in order: the place (``seq``) in the response each will have."""

    def anticipate(self, turn: AnticipatedTurn) -> None:
        """The user paused on ``turn``: its answer may come early. What an earlier pause prepared is dropped."""
        self._drop()
        self._turn = turn

    def early_answer(self, item_id: str, text: str) -> None:
        """The assistant already has ``text``, the answer to the paused turn ``item_id``: synthesize its first
        sentences ahead. Ignored unless that turn is still the one anticipated (not since dropped by another
        pause or a response to something else) and its answer is spoken."""
        turn = self._turn
        if turn is None or turn.item_id != item_id or not turn.audio:
            return
        self._drop()
        sentences = sentences_of(text)[:PREPARED_SENTENCES]
        self._ahead = [(seq, PreparedSentence(new_id("speech"), sentence))
                       for seq, sentence in enumerate(sentences, 1)]
        if self._ahead:
            self._effects.append(PrepareSpeech(tuple(sentence for _, sentence in self._ahead), turn.voice,
                                               turn.speed, turn.language))

    def response_started(self, context: Sequence[Item]) -> None:
        """A response with ``context`` starts: unless it answers the anticipated turn, that turn's answer will
        not be heard."""
        if self._turn is not None and not answers(context, self._turn.item_id):
            self._turn = None
            self._drop()

    def mark(self, context: Sequence[Item], synthesize: Synthesize) -> Synthesize:
        """``synthesize`` (of a response with ``context``) with the key of the prepared sentence it speaks, if it
        speaks one: the response answers the anticipated turn, and the sentence has the prepared one's place,
        words, voice, speed and language. Any other sentence there means the answer differs: the rest is
        dropped."""
        turn = self._turn
        if not self._ahead or turn is None or not answers(context, turn.item_id):
            return synthesize
        seq, sentence = self._ahead[0]
        if (synthesize.seq, synthesize.text, synthesize.voice, synthesize.speed, synthesize.language) != \
                (seq, sentence.text, turn.voice, turn.speed, turn.language):
            self._drop()
            return synthesize
        self._ahead.pop(0)
        return dataclasses.replace(synthesize, prepared=sentence.key)

    def _drop(self) -> None:
        if self._ahead:
            self._effects.append(DropPreparedSpeech(tuple(sentence.key for _, sentence in self._ahead)))
            self._ahead = []
