"""What one part of the session tells the others, queued instead of called.

A result entering the core (a transcript, a VAD frame, a client event) may end a turn, which commits an item,
whose early transcript may already be there, which may start a waiting response. Rather than each part calling
the next through the session (and the session back into the part that called it), a part queues a follow-up
and returns; the session's entry point acts on the queue in order until it is empty (``SessionCore._settle``).
Each follow-up is acted on at the point the old direct call sat, so events come out in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TurnStarted:
    """The user started speaking: an active response may be interrupted."""


@dataclass(frozen=True)
class TurnEnded:
    """A turn ended (committed, or idle too long) and turn detection creates responses: one may start."""


@dataclass(frozen=True)
class EarlyWords:
    """The early transcript of the turn being heard came back before the turn ended."""

    text: str


@dataclass(frozen=True)
class TranscriptEnded:
    """An item's transcript is done or failed: responses waiting for it may start."""


@dataclass(frozen=True)
class ResponseEnded:
    """A response finished: the idle timeout counts from now."""


FollowUp = TurnStarted | TurnEnded | EarlyWords | TranscriptEnded | ResponseEnded
