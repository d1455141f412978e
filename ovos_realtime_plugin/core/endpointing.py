"""A cheap end-of-turn signal for ``semantic_vad``: does the text so far read like a finished turn?

The early transcript (taken when the user pauses) is the input. Whisper-style engines punctuate: a final
``.``, ``?`` or ``!`` on text that does not end in a word that needs more words after it reads as done.
A trailing comma, dash or ellipsis, or a last word like "and", "the", "um", reads as the user still thinking.
Between the two, text that could be whole or could go on is *unsure*: no final punctuation at all, or a period
that Whisper put where the user only hesitated ("Set a timer for it.": a pronoun it added after a preposition;
"Tell me.", "Turn off!": a verb that takes an object, with none).
Words are English; other languages get the punctuation rule alone.
"""

from __future__ import annotations

from enum import Enum

CONTINUES = frozenset("""
a an the and or but so because if then than that which who whose whom when where while as
to of for with from in on at by about into onto over under after before between through like
my your his her its our their this these those some any
is are was were be am will would can could should shall may might must do does did have has had
um uh er erm hmm uhm well also plus
""".split())
PREPOSITIONS = frozenset("to of for with from in on at by about into onto over under after before between through"
                         .split())
PRONOUNS = frozenset("it this that them one".split())  # what Whisper ends a cut-off "... for" with
TAKES_OBJECT = frozenset("""
tell show give play set turn switch open close call add remind find put send text email make get start dim book
order buy read check search
""".split())  # a command verb that, said last, wants what it acts on
PARTICLES = frozenset("me us off up down out back".split())  # "tell me", "turn off": still no object


class Reading(Enum):
    """What the words so far say about the end of the turn."""

    FINISHED = "finished"  # a whole turn: a short quiet after them ends it
    UNSURE = "unsure"  # could be whole, could go on
    UNFINISHED = "unfinished"  # the user is mid-thought


def reading(text: str) -> Reading | None:
    """How ``text`` reads; None: no words to judge."""
    stripped = text.strip().strip("\"')]")
    if not stripped:
        return None
    if stripped.endswith(("...", "…", ",", "-", "–", ":", ";")):
        return Reading.UNFINISHED
    words = [w.strip(".?!\"'") for w in stripped.lower().split()]
    if words[-1] in CONTINUES:
        return Reading.UNFINISHED
    if stripped[-1] not in ".?!":
        return Reading.UNSURE
    if stripped[-1] in ".!" and wants_more(words):
        return Reading.UNSURE
    return Reading.FINISHED


def wants_more(words: list[str]) -> bool:
    """A sentence that a period (or "!") closes but whose last words are those of a command cut short."""
    last, before = words[-1], words[-2] if len(words) > 1 else ""
    if last in PRONOUNS and before in PREPOSITIONS:  # "set a timer for it."
        return True
    return last in TAKES_OBJECT or (last in PARTICLES and before in TAKES_OBJECT)  # "play.", "tell me."


def looks_finished(text: str) -> bool | None:
    """True: reads like a finished turn; False: the user may go on; None: no words to judge."""
    read = reading(text)
    return None if read is None else read is Reading.FINISHED
