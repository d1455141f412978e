"""OvosAssistant: a Realtime response answered by the OVOS skills on the messagebus.

A turn, in the session of this Realtime connection:

| on the bus                                  | we                                                  |
|---------------------------------------------|-----------------------------------------------------|
| (we emit ``recognizer_loop:utterance``)     | send the last user message's text, turn id in context |
| ``speak`` (either spelling)                 | yield a ``TextDelta``; emit audio_output_start/end  |
| ``speak {expect_response: true}``           | end the turn (after a grace window); the next turn goes to converse |
| ``complete_intent_failure`` (either spelling) | yield an ``unknown.dialog`` line at ``handled`` if nothing was said |
| ``ovos.skills.fallback.<ours>.request``     | the ``fallback`` (the LLM) answers; then ``.response``, ``handled`` |
| (no match, with a ``fallback`` assistant)   | the fallback answers the same request instead       |
| ``ovos.utterance.handled``                  | end the turn after a grace window for late speaks   |
| the bus drops / no end in time              | raise ``BusDisconnectedError`` / ``SkillsTimeoutError`` (+ stop) |
| (the iteration is cancelled or closed)      | emit ``mycroft.stop`` in the session                |

Every message we emit carries the Realtime response id under :data:`TURN_KEY`; OVOS copies the
context into everything it does for that utterance, so late messages of an earlier, cancelled
turn are told apart from this one. A skill answering a question speaks from the *asking* turn's
context: those ids are accepted while the question is open.

The fallback (the LLM, :mod:`ovos_realtime_plugin.llm`) is registered with OVOS as a fallback skill
(:mod:`ovos_realtime_plugin.bus.fallback`), so OVOS's pipeline decides: when it hands the utterance to us,
the answer is streamed into *this* response by the fallback assistant (token deltas, tool calls, usage,
cancellation of the HTTP stream — which a skill's ``speak`` messages could not carry). If OVOS reports no
match instead (our fallback stage not in the pipeline, or the registration not yet seen), the fallback
answers all the same.

Tools (README, "Tools"):

- **Client function tools with examples** are tried first: a turn that matches one of their example
  phrases (:mod:`.function_tools`) becomes a ``function_call`` and never reaches OVOS. When the client
  answers with ``function_call_output`` + ``response.create``, the output is spoken (:func:`.examples.speakable`).
- **The ``ovos`` MCP tool** (``{"type": "mcp", "server_label": "ovos"}``): the installed intents are its tools
  (:mod:`.intents`, listed through :meth:`OvosAssistant.list_tools`). Each intent the pipeline runs in a turn
  (its message ``<skill_id>:<intent>`` in our session) becomes a ``ServerToolCall`` — an ``mcp_call`` item with
  the slots as arguments and what the skill said as output — followed by that speech as text. The speech is
  held for the call until the skill's handler completes (or ``intent_output_wait_s``), then streams.
- :meth:`OvosAssistant.run_intent` runs an intent by tool name with arguments, skipping the pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ovos_realtime_plugin.bus import names
from ovos_realtime_plugin.bus.assistant_settings import OvosAssistantSettings as OvosAssistantSettings
from ovos_realtime_plugin.bus.client import BusConnection, BusMessage, Subscription, new_session, standard_lang
from ovos_realtime_plugin.bus.dialogs import load_dialogs
from ovos_realtime_plugin.bus.early_answer import EarlyAnswer, EarlyAnswers
from ovos_realtime_plugin.bus.errors import BusUnavailableError, SkillsTimeoutError, SkillsUnavailableError
from ovos_realtime_plugin.bus.function_tools import FunctionExamples
from ovos_realtime_plugin.bus.intents import IntentCatalogue, UnknownIntentError, allowed_tool_names
from ovos_realtime_plugin.bus.permissions import Access, allows, permitted, restrict_session
from ovos_realtime_plugin.bus.session import DEFAULT_PIPELINE, LLM_FALLBACK_PIPELINE, OvosSession, ovos_session_id
from ovos_realtime_plugin.bus.tool_calls import (
    HANDLER_END,
    HeldCall,
    IntentRun,
    SpokenText,
    intent_of,
    mcp_tool_of,
    say_outputs,
    trailing_function_outputs,
)
from ovos_realtime_plugin.bus.turns import RELEASE, TURN_KEY, Turn, turn_messages
from ovos_realtime_plugin.core.assistant import (
    Assistant,
    AssistantOutput,
    AssistantRequest,
    FunctionCallArguments,
    FunctionCallStart,
    TextDelta,
    answer_of,
)
from ovos_realtime_plugin.core.effects import Anticipate
from ovos_realtime_plugin.core.items import Item

if TYPE_CHECKING:
    from ovos_realtime_plugin.core.session import SessionCore

logger = logging.getLogger(__name__)


def new_turn(items: Sequence[Item]) -> Item | None:
    """The message a response answers: the newest item, when it is a user message (typed or transcribed) or a
    ``system`` message the client added (pipecat sends typed text that way; its words go to the skills as an
    utterance, as a user's would). ``None`` when the newest item is an answer already given (an assistant message,
    a function call) or there is nothing: so a ``response.create`` with no new turn never runs an earlier turn's
    skill or client tool again. Listings of MCP tools (added by a ``session.update``) are not turns and are looked
    past."""
    for item in reversed(items):
        if item.type == "mcp_list_tools":
            continue
        return item if item.type == "message" and item.role in ("user", "system") else None
    return None


class OvosAssistant:
    """The :class:`~ovos_realtime_plugin.core.assistant.Assistant` of one Realtime connection."""

    def __init__(self, bus: BusConnection, settings: OvosAssistantSettings | None = None, *,
                 session_id: str | None = None, intents: IntentCatalogue | None = None,
                 access: Access | None = None):
        self._bus = bus
        self._access = access
        """What this client's API key may reach (:mod:`.permissions`); ``None``: everything."""
        self._settings = settings or OvosAssistantSettings()
        self._intents = intents
        self._functions = FunctionExamples()
        self._unknown = load_dialogs("unknown", self._settings.locale_dir)
        self._done = load_dialogs("done", self._settings.locale_dir)
        self._failed = load_dialogs("failed", self._settings.locale_dir)
        self._session: OvosSession | None = None
        self._subscription: Subscription | None = None
        self._turns: dict[str, Turn] = {}
        self._early = EarlyAnswers()
        self._question_turns: set[str] = set()
        self.fallback: Assistant | None = None
        """Answers a turn no intent matched (instead of the ``unknown`` line) and the client's function outputs."""
        if session_id is not None:
            self._ensure_session(session_id)

    @property
    def session(self) -> OvosSession | None:
        return self._session

    def use_llm_pipeline(self, llm_fallback: bool) -> None:
        """With an LLM as fallback, the default pipeline leaves padatious's low stage to it (a pipeline the
        deployment chose is kept as it is)."""
        if self._session is not None and self._settings.pipeline == DEFAULT_PIPELINE:
            self._session.pipeline = LLM_FALLBACK_PIPELINE if llm_fallback else DEFAULT_PIPELINE

    def follows(self, ovos_session_id: str) -> bool:
        """Whether this open connection's OVOS session is ``ovos_session_id``."""
        return self._subscription is not None and self._session is not None and \
            self._session.session_id == ovos_session_id

    def close(self) -> None:
        """Stop following the session on the bus (the connection is gone)."""
        self._early.drop()
        if self._subscription is not None:
            self._subscription.cancel()
            self._subscription = None

    def anticipate(self, words: Anticipate, session_id: str, speak_early: Callable[[str], None] | None) -> None:
        """The user paused on ``words``: prepare their answer if a skill that only answers would give it
        (:mod:`.early_answer`); any earlier prepared answer is dropped."""
        self._early.drop()
        allowed = self._settings.early_answer_skills
        session = self._ensure_session(session_id)
        lang = standard_lang(words.language) if words.language else None
        text = words.text.strip()
        if not allowed or not text or session.wants_converse() or not self._bus.connected or \
                self._bus.skills_down is not None:
            return
        if self._functions.match(text, words.tools, words.tool_choice, lang or session.lang or "en-US") is not None:
            return  # the turn will call the client's function
        early = EarlyAnswer(words.item_id, text, lang, speak_early)
        self._early.current = early
        early.task = asyncio.create_task(self._prepare(early, session, allowed))

    async def _prepare(self, early: EarlyAnswer, session: OvosSession, allowed: frozenset[str]) -> None:
        context = self._context(early.turn.id, session.for_turn(early.lang))
        lang = early.lang or session.lang
        try:
            self._bus.emit(names.INTENT_GET, {"utterance": early.text, "lang": lang}, context)
            reply = await early.wait_for_match()
            intent = reply.data.get("intent") if reply is not None else None
            skill = intent.get("skill_id") if isinstance(intent, dict) else None
            if skill not in allowed:
                logger.debug("no answer prepared for %r: %s", early.text, skill or "no match in time")
                return
            self._bus.emit(names.UTTERANCE, {"utterances": [early.text], "lang": lang}, context)
            early.sent = True
            logger.debug("answer to %r prepared by %s", early.text, skill)
        except BusUnavailableError as exc:  # nothing prepared: the response sends the words itself
            logger.debug("no answer prepared: %s", exc)
        except Exception:  # our own bug: logged with its traceback; the response sends the words itself
            logger.exception("preparing the answer to %r failed", early.text)

    async def respond(self, request: AssistantRequest) -> AsyncIterator[AssistantOutput]:
        session = self._ensure_session(request.session_id)
        lang = standard_lang(request.language) if request.language else None
        outputs = trailing_function_outputs(request.items)
        if outputs:
            self._early.drop()
        if outputs and self.fallback is not None:  # the fallback may have made the call: it reads the outputs
            async with contextlib.aclosing(self._fallback_answer(request)) as answer:
                async for output in answer:
                    yield output
            return
        if outputs:  # the client ran the function we called: say what it gave
            yield TextDelta(say_outputs(outputs, self._done, self._failed, lang or session.lang), utterance_end=True)
            return
        user = new_turn(request.items)
        text = user.text().strip() if user is not None else ""
        if user is None or not text:
            self._early.drop()  # a response to anything else: what was prepared will not be heard
            newest = request.items[-1] if request.items else None
            logger.info("response %s: nothing for the skills to answer (the newest item is %s)", request.response_id,
                        "none" if newest is None else f"{newest.type} {newest.role or ''}".strip())
            return
        call = self._functions.match(text, request.tools, request.tool_choice, lang or session.lang or "en-US")
        if call is not None:
            self._early.drop()
            logger.info("response %s: the turn calls the client's function %s", request.response_id, call.name)
            yield FunctionCallStart(call.name)
            yield FunctionCallArguments(call.arguments_json)
            return
        async with contextlib.aclosing(self._ovos_turn(request, user.id, text, session, lang)) as answer:
            async for output in answer:
                yield output

    async def _ovos_turn(self, request: AssistantRequest, item_id: str, text: str, session: OvosSession,
                         lang: str | None) -> AsyncGenerator[AssistantOutput, None]:
        self._check_reachable()
        prepared = self._early.take(item_id, text, lang)  # this turn's words already on the bus, or None
        with self._open_turn(request.response_id, prepared) as turn:
            if prepared is None:
                self._bus.emit(names.UTTERANCE, {"utterances": [text], "lang": lang or session.lang},
                               self._context(turn.id, session.for_turn(lang)))
            speech = SpokenText()
            async with contextlib.aclosing(self._skill_outputs(turn, request, speech)) as outputs:
                async for output in outputs:
                    yield output
            self._turn_ended(turn, session)
            if turn.handed is not None:
                logger.info("response %s: OVOS handed the turn to our fallback; the LLM answers", request.response_id)
                answer = self._answer_as_fallback_skill(request, turn.handed)
            elif turn.unmatched and not speech.count and self.fallback is not None:
                logger.info("response %s: no intent matched; the fallback answers", request.response_id)
                answer = self._fallback_answer(request)
            else:
                if turn.unmatched and not speech.count:
                    yield TextDelta(self._unknown.pick(lang or session.lang), utterance_end=True)
                return
            async with contextlib.aclosing(answer) as answering:
                async for output in answering:
                    yield output

    async def _skill_outputs(self, turn: Turn, request: AssistantRequest,
                             speech: SpokenText) -> AsyncGenerator[AssistantOutput, None]:
        """What the skills say in ``turn`` (each intent run as an ``mcp_call`` when the ``ovos`` tool is on),
        until the turn ends or OVOS hands it to our fallback (``turn.handed``)."""
        mcp = mcp_tool_of(request, self._settings.mcp_server_label)
        label, source = self._settings.mcp_server_label, self._settings.source
        fallback_request = names.fallback_request(self._settings.fallback_skill_id)
        held: HeldCall | None = None
        async with contextlib.aclosing(self._messages(turn)) as messages:
            async for msg in messages:
                if msg.type == fallback_request and self.fallback is not None:
                    turn.handed = msg  # OVOS chose us: the rest of this turn is ours to answer
                    break
                if held is not None and (msg is RELEASE or msg.type in HANDLER_END):
                    if msg.type == names.HANDLER_ERROR:
                        held.error = str(msg.data.get("exception") or "the skill's handler failed")
                    for output in speech.release(held, label):
                        yield output
                    held = turn.hold_until = None
                elif names.is_speak(msg.type):
                    utterance = self._heard_speak(turn, msg)
                    if utterance and held is not None:
                        held.spoken.append(utterance)
                    elif utterance:
                        yield speech.delta(utterance)
                elif mcp is not None and (tool := intent_of(msg, self._intents, mcp, source)) is not None:
                    if held is not None:
                        for output in speech.release(held, label):
                            yield output
                    held = HeldCall(tool, tool.arguments_from(msg.data))
                    turn.hold_until = asyncio.get_running_loop().time() + self._settings.intent_output_wait_s
        turn.finished = True
        if held is not None:
            for output in speech.release(held, label):
                yield output

    async def _answer_as_fallback_skill(self, request: AssistantRequest,
                                        handed: BusMessage) -> AsyncGenerator[AssistantOutput, None]:
        """Answer OVOS's fallback request as a fallback skill does: ``.start``, the answer, ``.response``
        and ``ovos.utterance.handled`` — the last two however the answer ends, so OVOS's session moves on."""
        skill_id = self._settings.fallback_skill_id
        answered = False
        forward = dict(handed.context)  # as OVOS's Message.forward does
        self._bus.emit_quietly(names.fallback_start(skill_id), {}, forward)
        try:
            async with contextlib.aclosing(self._fallback_answer(request)) as answer:
                async for output in answer:
                    answered = True
                    yield output
        finally:
            self._bus.emit_quietly(names.fallback_response(skill_id),
                                   {"result": answered, "fallback_handler": "ovos-realtime.llm"}, forward)
            self._bus.emit_quietly(names.UTTERANCE_HANDLED, {}, forward)

    def _fallback_answer(self, request: AssistantRequest) -> AsyncGenerator[AssistantOutput, None]:
        assert self.fallback is not None
        return answer_of(self.fallback, request)

    async def run_intent(self, name: str, arguments: Mapping[str, Any] | None = None, *, lang: str | None = None,
                         utterance: str | None = None) -> IntentRun:
        """Run the intent of tool ``name`` with ``arguments`` (its slots) in this connection's OVOS session.

        Emits the intent's own message type — the pipeline is skipped — and collects what the skill says
        until ``ovos.utterance.handled``. ``utterance`` (default: a sample phrase with the slots filled in) is
        what the handler sees as the user's words. Raises :class:`UnknownIntentError` for a name the catalogue
        does not have, ``ValueError`` for an argument the intent has no slot for, and the errors of a turn.
        """
        tool = self._intents.by_name(name) if self._intents is not None else None
        if tool is None or not allows(self._access, tool):
            raise UnknownIntentError(name)
        slots = {key: str(value) for key, value in (arguments or {}).items() if value is not None}
        unknown = sorted(set(slots) - set(tool.slots))
        if unknown:
            raise ValueError(f"{name} has no slot {', '.join(unknown)}; its slots: {', '.join(tool.slots) or 'none'}")
        session = self._session
        if session is None:
            raise RuntimeError("run_intent needs the Realtime session id (OvosAssistant(session_id=...))")
        self._check_reachable()
        lang = standard_lang(lang) if lang else session.lang
        said = utterance or tool.utterance_for(slots)
        spoken: list[str] = []
        error: str | None = None
        with self._open_turn(f"intent-{uuid.uuid4().hex}") as turn:
            self._bus.emit(tool.message_type, {**slots, "utterance": said, "utterances": [said], "lang": lang},
                           self._context(turn.id, session.for_turn(lang)))
            async with contextlib.aclosing(self._messages(turn)) as messages:
                async for msg in messages:
                    if names.is_speak(msg.type):
                        spoken.append(self._heard_speak(turn, msg))
                    elif msg.type == names.HANDLER_ERROR:
                        error = str(msg.data.get("exception") or "the skill's handler failed")
            turn.finished = True
            self._turn_ended(turn, session)
        return IntentRun(tool, slots, tuple(s for s in spoken if s), error)

    def _check_reachable(self) -> None:
        """Fail a turn at once while the bus or the skills behind it are down, rather than at its timeout."""
        if not self._bus.connected:
            raise BusUnavailableError(f"not connected to the OVOS messagebus at {self._bus.url}")
        if self._bus.skills_down is not None:
            raise SkillsUnavailableError(self._bus.skills_down)

    def list_tools(self, tool: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The ``ovos`` MCP tool's tools: the installed intents (the session core's ``ToolLister``)."""
        if tool.get("server_label") != self._settings.mcp_server_label or self._intents is None:
            return None
        return [t.mcp_tool() for t in permitted(self._access, self._intents.tools(), allowed_tool_names(tool))]

    @contextlib.contextmanager
    def _open_turn(self, turn_id: str, prepared: Turn | None = None) -> Iterator[Turn]:
        """Route ``turn_id``'s messages to a new :class:`Turn` (or to the ``prepared`` one, whose words are
        already on the bus); one that ends early (cancelled, closed or timed out before its messages ended)
        stops what OVOS still does for it."""
        turn = prepared or Turn(turn_id)
        self._turns[turn.id] = turn
        try:
            yield turn
        except (SkillsTimeoutError, asyncio.CancelledError, GeneratorExit):
            if not turn.finished:
                self._stop(turn.id)
            raise
        finally:
            self._turns.pop(turn.id, None)

    def _heard_speak(self, turn: Turn, msg: BusMessage) -> str:
        """A skill spoke in ``turn``: we are the audio sink; a question keeps routing its turn here. The words."""
        if turn.acknowledged_early:  # the first speaks of a prepared turn were acknowledged as they came
            turn.acknowledged_early -= 1
        else:
            self._audio_output(turn.id)
        if msg.data.get("expect_response"):
            turn.asked = True
            self._question_turns.add(str(msg.context.get(TURN_KEY) or turn.id))
        return str(msg.data.get("utterance") or "").strip()

    def _turn_ended(self, turn: Turn, session: OvosSession) -> None:
        session.expecting_answer = turn.asked
        if not session.wants_converse():
            self._question_turns.clear()

    def _messages(self, turn: Turn) -> AsyncGenerator[BusMessage, None]:
        return turn_messages(turn, self._settings, lambda: self._emit_quietly(names.AUDIO_OUTPUT_END, turn.id))

    # --- session and routing (on the loop) -----------------------------------------------
    def _ensure_session(self, realtime_session_id: str) -> OvosSession:
        session_id = ovos_session_id(realtime_session_id, self._settings.source)
        if self._session is not None and self._session.session_id == session_id:
            return self._session
        self.close()
        initial = new_session(session_id, self._settings.default_lang, self._settings.pipeline,
                              self._settings.location)
        restrict_session(initial, self._access, self._intents.tools() if self._intents is not None else ())
        self._session = OvosSession(initial, self._settings.pipeline)
        self._subscription = self._bus.subscribe(session_id, self._on_message, self._on_drop)
        return self._session

    def _on_message(self, msg: BusMessage) -> None:
        if self._session is not None and msg.session is not None:
            self._session.update(msg.session)
        turn_id = msg.context.get(TURN_KEY)
        if self._early.route(turn_id, msg, lambda: self._audio_output(str(turn_id))):
            return
        turn = self._turns.get(turn_id) if isinstance(turn_id, str) else None
        if turn is None and self._turns and (turn_id is None or turn_id in self._question_turns):
            turn = next(reversed(self._turns.values()))
        if turn is not None:
            turn.queue.put_nowait(msg)

    def _on_drop(self, reason: str) -> None:
        self._early.drop()  # its messages are lost with the connection: the response sends the words again
        for turn in self._turns.values():
            turn.queue.put_nowait(reason)

    # --- what we emit ----------------------------------------------------------------------
    def _context(self, turn_id: str, session: dict[str, Any]) -> dict[str, Any]:
        return {"source": self._settings.source, "destination": ["skills"], "session": session, TURN_KEY: turn_id}

    def _emit_quietly(self, msg_type: str, turn_id: str) -> None:
        """Emit in this session; a bus that is down only gets a log line (the turn fails on its own)."""
        if self._session is not None:
            self._bus.emit_quietly(msg_type, {}, self._context(turn_id, self._session.snapshot()))

    def _audio_output(self, turn_id: str) -> None:
        """We are the audio sink: the text goes to the client, so speech 'ends' at once."""
        self._emit_quietly(names.AUDIO_OUTPUT_START, turn_id)
        self._emit_quietly(names.AUDIO_OUTPUT_END, turn_id)

    def _stop(self, turn_id: str) -> None:
        if self._session is not None:
            self._session.expecting_answer = False  # a stop also ends a skill's question
        logger.info("response %s ended early: stopping OVOS session %s", turn_id,
                    self._session.session_id if self._session else "?")
        self._emit_quietly(names.STOP, turn_id)


def assistant_factory(bus: BusConnection, settings: OvosAssistantSettings | None = None,
                      intents: IntentCatalogue | None = None) -> Callable[[SessionCore], OvosAssistant]:
    """What the server calls for each new connection: an :class:`OvosAssistant` in that connection's OVOS
    session, which also lists the ``ovos`` MCP tool's tools for the session core."""

    def make(session: SessionCore) -> OvosAssistant:
        assistant = OvosAssistant(bus, settings, session_id=session.id, intents=intents, access=session.access)
        session.tool_lister = assistant
        return assistant

    return make
