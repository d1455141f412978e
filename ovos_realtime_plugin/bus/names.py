"""Every OVOS messagebus name ovos-realtime uses, in one place.

Built on the stable channel (ovos-core 2.1); where the alpha channel (ovos-core 3.7) renamed a
message, both spellings are listed and the ``*_TYPES`` sets accept either. We *send* the stable
name; we *understand* both.

| what                     | stable                      | alpha                   |
|--------------------------|-----------------------------|-------------------------|
| a skill speaks           | ``speak``                   | ``ovos.utterance.speak`` |
| nothing matched          | ``complete_intent_failure`` | ``ovos.intent.unmatched`` |
"""

from __future__ import annotations

# --- a turn -------------------------------------------------------------------------------
UTTERANCE = "recognizer_loop:utterance"
"""We emit it: ``{utterances: [text], lang}``, context ``{source, destination: ["skills"], session}``."""

SPEAK = "speak"
SPEAK_ALPHA = "ovos.utterance.speak"
SPEAK_TYPES = frozenset({SPEAK, SPEAK_ALPHA})
"""``{utterance, expect_response, lang, meta}`` — one per sentence a skill says."""

INTENT_FAILURE = "complete_intent_failure"
INTENT_FAILURE_ALPHA = "ovos.intent.unmatched"
INTENT_FAILURE_TYPES = frozenset({INTENT_FAILURE, INTENT_FAILURE_ALPHA})

UTTERANCE_HANDLED = "ovos.utterance.handled"
"""End of a turn (after a skill's handler, after a failure, after a global stop)."""

UTTERANCE_CANCELLED = "ovos.utterance.cancelled"
HANDLER_START = "mycroft.skill.handler.start"
HANDLER_COMPLETE = "mycroft.skill.handler.complete"
HANDLER_ERROR = "mycroft.skill.handler.error"

# --- the audio sink's part (skills that ``speak(wait=True)`` block on it) ---------------------
AUDIO_OUTPUT_START = "recognizer_loop:audio_output_start"
AUDIO_OUTPUT_END = "recognizer_loop:audio_output_end"

# --- stopping -----------------------------------------------------------------------------
STOP = "mycroft.stop"
SPEECH_STOP = "mycroft.audio.speech.stop"
ABORT_QUESTION = "mycroft.skills.abort_question"

# --- questions (``get_response``) ---------------------------------------------------------
GET_RESPONSE_ENABLE = "skill.converse.get_response.enable"
GET_RESPONSE_DISABLE = "skill.converse.get_response.disable"
UTTERANCE_STATE_RESPONSE = "response"
"""The value of ``session["utterance_states"][skill_id]`` while that skill waits for an answer."""

# --- readiness ----------------------------------------------------------------------------
SKILLS_IS_READY = "mycroft.skills.is_ready"
SKILLS_IS_ALIVE = "mycroft.skills.is_alive"
SKILLS_INITIALIZED = "mycroft.skills.initialized"
INTERNET_CHECK = "ovos.PHAL.internet_check"
"""The skills service asks this at start-up and waits 3 s for an answer (normally from ovos-PHAL)."""
BUS_CONNECTED = "connected"
"""What ovos-messagebus sends a client right after the WebSocket opens."""

# --- fallback hook: any bus client can be a fallback skill -----------------------------------
FALLBACK_REGISTER = "ovos.skills.fallback.register"
FALLBACK_DEREGISTER = "ovos.skills.fallback.deregister"
FALLBACK_PING = "ovos.skills.fallback.ping"
FALLBACK_PONG = "ovos.skills.fallback.pong"

# --- intents as functions -----------------------------------------------------------------
# The manifests answer with ``message.reply(<name without .get>)``, not ``<type>.response``.
ADAPT_MANIFEST = "intent.service.adapt.manifest.get"
ADAPT_MANIFEST_REPLY = "intent.service.adapt.manifest"
"""``{intents: [{name, requires, at_least_one, optional, excludes}]}``; vocab names are munged (skill prefix)."""
ADAPT_VOCAB_MANIFEST = "intent.service.adapt.vocab.manifest.get"
ADAPT_VOCAB_MANIFEST_REPLY = "intent.service.adapt.vocab.manifest"
"""``{vocab: [{entity_value, entity_type, lang} | {regex, lang}]}``"""
PADATIOUS_MANIFEST = "intent.service.padatious.manifest.get"
PADATIOUS_MANIFEST_REPLY = "intent.service.padatious.manifest"
"""``{intents: ["<skill_id>:<file>.intent", ...]}`` — names only."""
SKILLS_LIST = "skillmanager.list"
INTENT_GET = "intent.service.intent.get"
INTENT_GET_REPLY = "intent.service.intent.reply"
INTENT_LIST_ALPHA = "ovos.intent.list"
INTENT_DESCRIBE_ALPHA = "ovos.intent.describe"
PADATIOUS_REGISTER_INTENT = "padatious:register_intent"
"""Broadcast (session ``default``) when a skill loads: ``{name, samples (expanded), file_name, lang}``."""
ADAPT_REGISTER_VOCAB = "register_vocab"
ADAPT_REGISTER_INTENT = "register_intent"
DETACH_INTENT = "detach_intent"
"""``{intent_name}``"""
DETACH_SKILL = "detach_skill"
"""``{skill_id}``"""
SKILL_LOADED = "mycroft.skills.loaded"
"""``{id, path, name}`` — where a skill that just loaded lives (its ``locale/``)."""

# --- intent pipeline stage ids (``Session.pipeline``), ovos-core 2.1 ------------------------
STAGE_STOP_HIGH = "stop_high"
STAGE_STOP_MEDIUM = "stop_medium"
STAGE_CONVERSE = "converse"
STAGE_PADATIOUS_HIGH = "padatious_high"
STAGE_PADATIOUS_MEDIUM = "padatious_medium"
STAGE_PADATIOUS_LOW = "padatious_low"
STAGE_ADAPT_HIGH = "adapt_high"
STAGE_ADAPT_MEDIUM = "adapt_medium"
STAGE_ADAPT_LOW = "adapt_low"
STAGE_FALLBACK_HIGH = "fallback_high"
STAGE_FALLBACK_MEDIUM = "fallback_medium"
STAGE_FALLBACK_LOW = "fallback_low"
STAGE_COMMON_QA = "common_qa"
STAGE_OCP_HIGH = "ocp_high"


def status_query(service: str, query: str) -> str:
    """A service's status query (``ProcessStatus``): ``mycroft.<service>.is_alive`` / ``is_ready``."""
    return f"mycroft.{service}.{query}"


def response_of(msg_type: str) -> str:
    """The reply type OVOS's ``Message.response()`` gives a request: ``<type>.response``."""
    return msg_type + ".response"


def fallback_request(skill_id: str) -> str:
    return f"ovos.skills.fallback.{skill_id}.request"


def fallback_start(skill_id: str) -> str:
    return f"ovos.skills.fallback.{skill_id}.start"


def fallback_response(skill_id: str) -> str:
    return f"ovos.skills.fallback.{skill_id}.response"


def is_speak(msg_type: str) -> bool:
    return msg_type in SPEAK_TYPES


def is_intent_failure(msg_type: str) -> bool:
    return msg_type in INTENT_FAILURE_TYPES
