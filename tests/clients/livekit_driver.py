"""Drives LiveKit Agents' OpenAI ``RealtimeModel`` (livekit-plugins-openai) against ovos-realtime, in
``.venv-clients`` (run by tests/test_third_party_clients.py; not imported by the suite).

What an ``AgentSession`` does with a realtime model, without a LiveKit room: ``RealtimeModel(base_url=…,
api_key=…).session()``, microphone audio as ``rtc.AudioFrame``s through ``push_audio``, typed text as a user
message in ``update_chat_ctx`` + ``generate_reply``, function tools through ``update_tools``, each call's output
as a ``FunctionCallOutput`` + ``generate_reply``, and on the user's speech during an answer ``interrupt`` +
``truncate`` to what was heard. Every server event is recorded through ``openai_server_event_received``, errors
through the session's ``error`` event (LiveKit drops OpenAI's "Cancellation failed" race, as it does with
OpenAI, and reports every other ``error`` event). One scenario per run; the report is one JSON line on stdout.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from driver_common import CHUNK, RATE, STORY, STORY_DESCRIPTION, TIMER_DESCRIPTION, WAIT_S, Answer, run
from livekit import rtc
from livekit.agents import llm
from livekit.plugins.openai.realtime import RealtimeModel


class Client:
    """The agent side of an ``AgentSession``, reduced to what the scenarios need."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.model = RealtimeModel(base_url=config["base_url"], api_key=config["key"])
        self.session = self.model.session()
        self.events: list[dict[str, Any]] = []
        self.errors: list[str] = []  # what the session reports as errors (its "error" event)
        self.wire_errors: list[dict[str, Any]] = []  # every "error" event on the wire, reported or not
        self.transcripts: list[str] = []
        self.answers: list[Answer] = []
        self.calls: list[dict[str, Any]] = []
        self.interruptions = 0
        self.changed = asyncio.Condition()
        self.tasks: set[asyncio.Task[None]] = set()
        self.session.on("openai_server_event_received", self.on_server_event)
        self.session.on("error", self.on_error)
        self.session.on("generation_created", self.on_generation)
        self.session.on("input_audio_transcription_completed", self.on_transcript)
        self.session.on("input_speech_started", self.on_speech_started)

    # -- what the session reports ------------------------------------------------------------------------
    def on_server_event(self, event: dict[str, Any]) -> None:
        self.events.append({k: v for k, v in event.items() if k != "delta"})
        if event["type"] == "error":
            self.wire_errors.append(event["error"])
        self.notify()

    def on_error(self, error: llm.RealtimeModelError) -> None:
        self.errors.append(f"{type(error.error).__name__}: {error.error}")
        self.notify()

    def on_transcript(self, event: llm.InputTranscriptionCompleted) -> None:
        if event.is_final:  # the same event carries the deltas
            self.transcripts.append(event.transcript)
            self.notify()

    def on_speech_started(self, _event: llm.InputSpeechStartedEvent) -> None:
        """As AgentSession does: the user talking over an answer stops it where the listener is."""
        self.interruptions += 1
        playing = [a for a in self.answers if a.playing()]
        if playing:
            answer = playing[-1]
            answer.interrupted_at_ms = answer.heard_ms()
            self.session.interrupt()
            self.session.truncate(message_id=answer.message_id, modalities=["audio", "text"],
                                  audio_end_ms=answer.interrupted_at_ms, audio_transcript="".join(answer.text))
        self.notify()

    def on_generation(self, generation: llm.GenerationCreatedEvent) -> None:
        self.spawn(self.read_messages(generation))
        self.spawn(self.run_functions(generation))

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def notify(self) -> None:
        async def wake() -> None:
            async with self.changed:
                self.changed.notify_all()

        self.spawn(wake())

    async def read_messages(self, generation: llm.GenerationCreatedEvent) -> None:
        async for message in generation.message_stream:
            answer = Answer(message.message_id)
            self.answers.append(answer)
            await asyncio.gather(self.read_audio(answer, message), self.read_text(answer, message))
            answer.ended = True
            self.notify()

    async def read_audio(self, answer: Answer, message: llm.MessageGeneration) -> None:
        async for frame in message.audio_stream:
            if answer.started is None:
                answer.started = time.monotonic()
            answer.audio += bytes(frame.data)
            self.notify()

    async def read_text(self, answer: Answer, message: llm.MessageGeneration) -> None:
        async for text in message.text_stream:
            answer.text.append(str(text))

    async def run_functions(self, generation: llm.GenerationCreatedEvent) -> None:
        """Runs each call, puts its output in the chat context and asks for the reply (what AgentActivity does
        for a realtime model without automatic tool replies)."""
        outputs = []
        async for call in generation.function_stream:
            arguments = json.loads(call.arguments or "{}")
            self.calls.append({"name": call.name, "arguments": arguments})
            result = (f"The timer is set for {arguments['minutes']} minutes." if call.name == "set_timer"
                      else STORY)
            outputs.append(llm.FunctionCallOutput(call_id=call.call_id, name=call.name, output=result,
                                                  is_error=False))
        if outputs:
            chat_ctx = self.session.chat_ctx.copy()
            chat_ctx.items.extend(outputs)
            await self.session.update_chat_ctx(chat_ctx)
            self.session.generate_reply()
        self.notify()

    # -- what the user does ------------------------------------------------------------------------------
    async def say(self, pcm: bytes) -> None:
        """The microphone: a 100 ms frame every 100 ms, as a sound card gives them (so what the client sends
        meanwhile, a cancel or a truncate, is not queued behind audio that has not been spoken yet)."""
        start = time.monotonic()
        for n, i in enumerate(range(0, len(pcm), CHUNK)):
            await asyncio.sleep(start + n * 0.1 - time.monotonic())
            chunk = pcm[i:i + CHUNK]
            self.session.push_audio(rtc.AudioFrame(data=chunk, sample_rate=RATE, num_channels=1,
                                                   samples_per_channel=len(chunk) // 2))

    async def type(self, text: str) -> None:
        chat_ctx = self.session.chat_ctx.copy()
        chat_ctx.add_message(role="user", content=text)
        await self.session.update_chat_ctx(chat_ctx)
        await self.session.generate_reply()

    async def until(self, what: str, test: Any, timeout: float = WAIT_S) -> None:
        async def wait() -> None:
            async with self.changed:
                await self.changed.wait_for(lambda: bool(test()) or bool(self.errors))

        try:
            await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise TimeoutError(f"no {what} within {timeout:.0f} s") from None

    def answered(self, count: int) -> bool:
        return len([a for a in self.answers if a.ended and a.audio]) >= count


@llm.function_tool(description=TIMER_DESCRIPTION)
async def set_timer(minutes: int) -> str:
    raise AssertionError("the driver runs the calls itself")


@llm.function_tool(description=STORY_DESCRIPTION)
async def tell_story() -> str:
    raise AssertionError("the driver runs the calls itself")


async def scenario(client: Client, name: str, audio: dict[str, bytes]) -> None:
    await client.until("session.updated", lambda: any(e["type"] == "session.updated" for e in client.events))
    await client.session.update_tools([set_timer, tell_story])
    if name == "spoken":
        await client.say(audio["question"])
        await client.until("answer to the spoken question", lambda: client.answered(1))
    elif name == "typed":
        await client.type("what time is it")
        await client.until("answer to the typed question", lambda: client.answered(1))
    elif name == "tool":
        await client.say(audio["timer"])
        await client.until("set_timer call", lambda: client.calls)
        await client.until("answer after the function output", lambda: client.answered(1))
    elif name == "interrupt":
        await client.say(audio["story"])
        await client.until("the story's audio", lambda: client.answers and client.answers[-1].heard_ms() > 0)
        story = client.answers[-1]
        # the listener hears the story for a while (its own clock), then talks over it
        assert story.started is not None
        await asyncio.sleep(max(0.0, story.started + 2.0 - time.monotonic()))  # the listener's playback clock
        await client.until("two seconds of the story heard", lambda: story.heard_ms() >= 2000 or story.ended)
        await client.say(audio["question"])
        await client.until("the interruption", lambda: story.interrupted_at_ms is not None)
        await client.until("conversation.item.truncated",
                           lambda: any(e["type"] == "conversation.item.truncated" for e in client.events))
        await client.until("answer to the question asked over the story",
                           lambda: client.answers[-1] is not story and client.answered(2))
    else:
        raise ValueError(name)


async def main(config: dict[str, Any], audio: dict[str, bytes]) -> tuple[dict[str, Any], list[bytes]]:
    client = Client(config)
    failure = None
    try:
        await scenario(client, config["scenario"], audio)
    except TimeoutError as e:
        failure = str(e)
    report = {"failure": failure, "errors": client.errors, "wire_errors": client.wire_errors,
              "transcripts": client.transcripts,
              "answers": [a.report() for a in client.answers], "calls": client.calls,
              "interruptions": client.interruptions,
              "server_events": [e["type"] for e in client.events if e["type"] != "response.output_audio.delta"]}
    await client.session.aclose()
    await client.model.aclose()
    return report, [bytes(a.audio) for a in client.answers]


if __name__ == "__main__":
    run(main, json.loads(sys.argv[1]))
