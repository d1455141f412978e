"""A real OVOS skill with two behaviours the bus tests need and no installed skill has.

Loaded by ovos-core's skills service through an ``opm.skill`` entry point that the test fixture
generates (see ``SkillsServiceSettings.extra_skills``); this directory is on the child's PYTHONPATH.

- "ask me my favourite colour": ``get_response`` — a question, and the *next* utterance of the
  session is routed back here through ``converse``; the answer is spoken back.
- "list the primary colours": three ``speak``s in one handler ("Red.", "Yellow.", "Blue.").
- "spell cat": a padatious intent with a slot (``word``) that needs no network — the date-time
  skill's own slot (``location``) geocodes place names online.
- "count slowly": says "one", then holds its handler (up to 10 s) before "two", so a turn is
  reliably in flight; ``mycroft.stop`` in that session releases it at once, without "two".
"""

from __future__ import annotations

import threading
from typing import Any

from ovos_bus_client.session import Session, SessionManager
from ovos_utils import classproperty
from ovos_utils.process_utils import RuntimeRequirements
from ovos_workshop.decorators import intent_handler
from ovos_workshop.skills import OVOSSkill

HOLD_S = 10.0
PRIMARY_COLOURS = ("Red.", "Yellow.", "Blue.")


class RealtimeTestSkill(OVOSSkill):
    def __init__(self, *args: Any, **kwargs: Any):
        self._holds: dict[str, threading.Event] = {}
        super().__init__(*args, **kwargs)

    @classproperty
    def runtime_requirements(self) -> RuntimeRequirements:
        return RuntimeRequirements(internet_before_load=False, network_before_load=False, requires_internet=False,
                                   requires_network=False, no_internet_fallback=True, no_network_fallback=True)

    @intent_handler("ask.colour.intent")
    def handle_ask_colour(self, message: Any) -> None:
        colour = self.get_response("favourite.colour", num_retries=0)
        if colour:
            self.speak_dialog("colour.reply", {"colour": colour})
        else:
            self.speak_dialog("no.colour")

    @intent_handler("primary.colours.intent")
    def handle_primary_colours(self, message: Any) -> None:
        for colour in PRIMARY_COLOURS:
            self.speak(colour)

    @intent_handler("spell.word.intent")
    def handle_spell(self, message: Any) -> None:
        word = message.data.get("word", "")
        self.speak(" ".join(word.upper()))

    @intent_handler("count.slowly.intent")
    def handle_count_slowly(self, message: Any) -> None:
        session_id = SessionManager.get(message).session_id
        released = self._holds[session_id] = threading.Event()
        self.speak("one")
        stopped = released.wait(HOLD_S)
        self._holds.pop(session_id, None)
        if not stopped:
            self.speak("two")

    def can_stop(self, message: Any) -> bool:
        return SessionManager.get(message).session_id in self._holds

    def stop_session(self, session: Session) -> bool:
        released = self._holds.get(session.session_id)
        if released is None:
            return False
        released.set()
        return True

    def stop(self) -> bool:
        return False
