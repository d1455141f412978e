"""A cheap end-of-turn signal for ``semantic_vad``: does the text so far read like a finished turn?

The early transcript (taken when the user pauses) is the input. Whisper-style engines punctuate: a final
``.``, ``?`` or ``!`` on text that does not end in a word that needs more words after it reads as done.
A trailing comma, dash or ellipsis, or a last word like "and", "the", "um", reads as the user still thinking.
Words are English; other languages get the punctuation rule alone.
"""

from __future__ import annotations

CONTINUES = frozenset("""
a an the and or but so because if then than that which who whose whom when where while as
to of for with from in on at by about into onto over under after before between through like
my your his her its our their this these those some any
is are was were be am will would can could should shall may might must do does did have has had
um uh er erm hmm uhm well also plus
""".split())


def looks_finished(text: str) -> bool | None:
    """True: reads like a finished turn; False: the user is mid-thought; None: no words to judge."""
    stripped = text.strip().strip("\"')]")
    if not stripped:
        return None
    if stripped.endswith(("...", "…", ",", "-", "–", ":", ";")):
        return False
    words = stripped.lower().split()
    if words[-1].strip(".?!\"'") in CONTINUES:
        return False
    return stripped[-1] in ".?!"
