"""Drives pipecat's ``OpenAIRealtimeLLMService`` against ovos-realtime, in ``.venv-clients`` (run by
tests/test_third_party_clients.py; not imported by the suite).

A minimal pipecat app: ``Pipeline([user aggregator, OpenAIRealtimeLLMService, assistant aggregator])`` with the
service's own server-side turn detection, audio pushed in as ``InputAudioRawFrame``s (a microphone), typed text as
``LLMMessagesAppendFrame``, client functions registered with ``register_function``. An observer records what the
service pushes (audio, transcripts, interruptions, function calls, errors); a "speaker" clock says how much of the
answer a listener has heard. One scenario per run; the report is one JSON line on stdout.

    python pipecat_driver.py '{"url": "ws://…/v1/realtime", "key": "…", "scenario": "spoken",
                               "audio": {"name": "file.pcm", …}, "out": "dir"}'
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from driver_common import CHUNK, RATE, STORY, STORY_DESCRIPTION, TIMER_DESCRIPTION, WAIT_S, Answer, run
from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import (
    EndFrame,
    ErrorFrame,
    InputAudioRawFrame,
    InterruptionFrame,
    LLMFullResponseEndFrame,
    LLMMessagesAppendFrame,
    LLMRunFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSTextFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.runner import PipelineRunner
from pipecat.pipeline.task import PipelineParams, PipelineTask
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.llm_service import FunctionCallParams
from pipecat.services.openai.realtime.events import (
    AudioConfiguration,
    AudioInput,
    InputAudioTranscription,
    SessionProperties,
)
from pipecat.services.openai.realtime.llm import OpenAIRealtimeLLMService

SET_TIMER = FunctionSchema(
    name="set_timer",
    description=TIMER_DESCRIPTION,
    properties={"minutes": {"type": "integer"}}, required=["minutes"])
TELL_STORY = FunctionSchema(name="tell_story", description=STORY_DESCRIPTION,
                            properties={}, required=[])


class Recorder(BaseObserver):
    """What the realtime service pushes, as a pipecat app sees it."""

    def __init__(self, llm: OpenAIRealtimeLLMService) -> None:
        super().__init__()
        self.llm = llm
        self.answers: list[Answer] = []
        self.transcripts: list[str] = []
        self.errors: list[str] = []
        self.interruptions = 0
        self.responses_ended = 0
        self.changed = asyncio.Condition()

    def current(self) -> Answer:
        if not self.answers or self.answers[-1].ended:
            self.answers.append(Answer())
        return self.answers[-1]

    async def on_push_frame(self, data: FramePushed) -> None:
        frame = data.frame
        if isinstance(frame, ErrorFrame):
            if data.first_push:
                self.errors.append(str(frame.error))
        elif data.source is not self.llm:
            return
        elif isinstance(frame, TTSAudioRawFrame):
            answer = self.current()
            if answer.started is None:
                answer.started = time.monotonic()
            answer.audio += frame.audio
        elif isinstance(frame, TTSTextFrame):
            self.current().text.append(frame.text)
        elif isinstance(frame, TranscriptionFrame):
            self.transcripts.append(frame.text)
        elif data.source is not self.llm:
            return
        elif isinstance(frame, LLMFullResponseEndFrame):
            self.responses_ended += 1
            if self.answers and not self.answers[-1].ended:
                self.answers[-1].ended = True
        else:
            return
        async with self.changed:
            self.changed.notify_all()

    async def on_interruption(self) -> None:
        """The service was told to stop: the listener stops hearing the answer at this point."""
        self.interruptions += 1
        if self.answers and self.answers[-1].playing():
            self.answers[-1].interrupted_at_ms = self.answers[-1].heard_ms()
        async with self.changed:
            self.changed.notify_all()

    async def until(self, what: str, test: Any, timeout: float = WAIT_S) -> None:
        async def wait() -> None:
            async with self.changed:
                await self.changed.wait_for(lambda: bool(test()) or bool(self.errors))

        try:
            await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise TimeoutError(f"no {what} within {timeout:.0f} s") from None

    def answered(self, count: int) -> bool:
        done = [a for a in self.answers if a.ended and a.audio]
        return len(done) >= count


class Keyboard(FrameProcessor):
    """Where an app's text input (an RTVI processor, a chat box) puts typed text: in front of the service. It
    also tells the recorder when an interruption passes on its way to the service."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder

    async def process_frame(self, frame: Any, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InterruptionFrame):
            await self.recorder.on_interruption()
        await self.push_frame(frame, direction)

    async def type(self, text: str) -> None:
        await self.push_frame(LLMMessagesAppendFrame(messages=[{"role": "user", "content": text}], run_llm=True))


class Client:
    """The pipecat app: pipeline, task and runner, with the scenario's functions registered."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.calls: list[dict[str, Any]] = []
        self.opening: list[Answer] = []
        self.llm = OpenAIRealtimeLLMService(
            api_key=config["key"], base_url=config["url"],
            settings=OpenAIRealtimeLLMService.Settings(
                model="gpt-realtime", system_instruction="You are a helpful voice assistant.",
                session_properties=SessionProperties(
                    audio=AudioConfiguration(input=AudioInput(transcription=InputAudioTranscription())),
                    tools=ToolsSchema(standard_tools=[SET_TIMER, TELL_STORY]))))
        self.llm.register_function("set_timer", self.set_timer)
        self.llm.register_function("tell_story", self.tell_story)
        user, assistant = LLMContextAggregatorPair(LLMContext())
        self.recorder = Recorder(self.llm)
        self.keyboard = Keyboard(self.recorder)
        self.task = PipelineTask(Pipeline([user, self.keyboard, self.llm, assistant]), params=PipelineParams(),
                                 observers=[self.recorder])
        self.runner = PipelineRunner(handle_sigint=False)

    async def set_timer(self, params: FunctionCallParams) -> None:
        self.calls.append({"name": "set_timer", "arguments": dict(params.arguments)})
        await params.result_callback(f"The timer is set for {params.arguments['minutes']} minutes.")

    async def tell_story(self, params: FunctionCallParams) -> None:
        self.calls.append({"name": "tell_story", "arguments": dict(params.arguments)})
        await params.result_callback(STORY)

    async def say(self, pcm: bytes) -> None:
        """The microphone: a 100 ms frame every 100 ms, as a sound card gives them (so what the service sends
        meanwhile, a truncate, is not queued behind audio that has not been spoken yet)."""
        start = time.monotonic()
        for n, i in enumerate(range(0, len(pcm), CHUNK)):
            await asyncio.sleep(start + n * 0.1 - time.monotonic())
            await self.task.queue_frame(InputAudioRawFrame(audio=pcm[i:i + CHUNK], sample_rate=RATE, num_channels=1))


async def scenario(client: Client, name: str, audio: dict[str, bytes]) -> None:
    rec = client.recorder
    # as pipecat's examples start: the LLM run once to open the conversation
    await client.task.queue_frame(LLMRunFrame())
    await rec.until("end of the opening response", lambda: rec.responses_ended)
    client.opening, rec.answers = rec.answers, []
    if name == "spoken":
        await client.say(audio["question"])
        await rec.until("answer to the spoken question", lambda: rec.answered(1))
    elif name == "typed":
        await client.keyboard.type("what time is it")
        await rec.until("answer to the typed question", lambda: rec.answered(1))
    elif name == "tool":
        await client.say(audio["timer"])
        await rec.until("set_timer call", lambda: client.calls)
        await rec.until("answer after the function output", lambda: rec.answered(1))
    elif name == "interrupt":
        await client.say(audio["story"])
        await rec.until("the story's audio", lambda: rec.answers and rec.answers[-1].heard_ms() > 0)
        story = rec.answers[-1]
        # the listener hears the story for a while (its own clock), then talks over it
        assert story.started is not None
        await asyncio.sleep(max(0.0, story.started + 2.0 - time.monotonic()))  # the listener's playback clock
        await rec.until("two seconds of the story heard", lambda: story.heard_ms() >= 2000 or story.ended)
        await client.say(audio["question"])
        await rec.until("the interruption", lambda: rec.interruptions)
        await rec.until("answer to the question asked over the story",
                        lambda: rec.answers[-1] is not story and rec.answered(2))
    else:
        raise ValueError(name)


async def main(config: dict[str, Any], audio: dict[str, bytes]) -> tuple[dict[str, Any], list[bytes]]:
    client = Client(config)
    run = asyncio.create_task(client.runner.run(client.task))
    failure = None
    try:
        await scenario(client, config["scenario"], audio)
    except TimeoutError as e:
        failure = str(e)
    rec = client.recorder
    report = {"failure": failure, "errors": rec.errors, "transcripts": rec.transcripts,
              "answers": [a.report() for a in rec.answers], "calls": client.calls,
              "interruptions": rec.interruptions, "opening": [a.report() for a in client.opening]}
    await client.task.queue_frame(EndFrame())
    try:
        await asyncio.wait_for(run, 10)
    except TimeoutError:
        await client.task.cancel()
    return report, [bytes(a.audio) for a in rec.answers]


if __name__ == "__main__":
    run(main, json.loads(sys.argv[1]))
