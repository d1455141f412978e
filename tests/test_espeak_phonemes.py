"""piper's phonemes from a long-lived espeak-ng program: the one-shot program's output, crashes kept to one clause."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ovos_realtime_plugin.engines import espeak_phonemes
from ovos_realtime_plugin.engines.espeak_phonemes import (
    EspeakProgram,
    EspeakPrograms,
    PhonemizerStopped,
    needs_one_shot,
)
from ovos_realtime_plugin.patches.piper_espeak import use_long_lived_programs

TEXTS = ["It is ten past two", "Hello world", "whats the time in New York", "line one\nline two",
         "line one\n\nline three", "émigré café naïve", "🙂 smile", "3.5 kg of C++ for $20", "x" * 1200,
         " ".join(["word"] * 400), "Dr Smith lives at 221B Baker St", "\t tabs \t", "a\rb", "hello '", "¿qué",
         "wait…", "a — b", "«bonjour»", "A B C D E", "one two three four five", "hello!", "9!"]


def one_shot(text: str, voice: str) -> str:
    """What the OVOS piper plugin runs for each clause."""
    return subprocess.run(["espeak-ng", "-q", "-x", "--ipa", "-v", voice], input=text, capture_output=True,
                          text=True, encoding="utf-8", errors="replace", check=True).stdout.strip()


@pytest.mark.parametrize("voice", ["en-us", "de", "fr-fr", "es"])
def test_the_long_lived_program_answers_as_the_one_shot_program_does(voice: str) -> None:
    program = EspeakProgram(voice)
    try:
        for text in TEXTS:
            if not needs_one_shot(text):
                assert program.phonemes(text) == one_shot(text, voice), text
    finally:
        program.close()


@pytest.mark.parametrize("text", ["!", "hello\n!!!", "", "...", "a zqxjv b", "Z-Q-X-J-V", "vxjqz"])
def test_texts_the_long_lived_program_would_answer_differently_go_to_the_one_shot_program(text: str) -> None:
    assert needs_one_shot(text)


def test_a_lone_exclamation_mark_at_the_end_is_why() -> None:
    program = EspeakProgram("en-us")
    try:
        assert one_shot("!", "en-us") != program.phonemes("!")  # read aloud at the end of the one-shot input
    finally:
        program.close()


@pytest.fixture
def fake_espeak(tmp_path: Path) -> str:
    """A stand-in for the espeak-ng program that crashes or hangs on demand (the real one cannot be made to)."""
    script = tmp_path / "espeak-ng"
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import os, signal, sys, time
        for line in sys.stdin:
            word = line.strip()
            if word == "crash":
                os.kill(os.getpid(), signal.SIGSEGV)
            if word == "hang":
                time.sleep(60)
            print(f"{{os.getpid()}}:{{word}}", flush=True)
        """))
    script.chmod(0o755)
    return str(script)


def test_a_crash_fails_that_clause_only_and_the_next_clause_starts_a_new_program(fake_espeak: str) -> None:
    program = EspeakProgram("en-us", fake_espeak)
    try:
        first_pid, said = program.phonemes("hello").split(":")
        assert said == "hello"
        with pytest.raises(PhonemizerStopped, match="killed by signal 11"):
            program.phonemes("crash")
        second_pid, said = program.phonemes("again").split(":")
        assert said == "again" and second_pid != first_pid
    finally:
        program.close()


def test_a_program_that_hangs_is_killed_and_that_clause_fails(fake_espeak: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(espeak_phonemes, "TIMEOUT_S", 0.5)
    program = EspeakProgram("en-us", fake_espeak)
    try:
        pid = int(program.phonemes("hello").split(":")[0])
        with pytest.raises(PhonemizerStopped, match="no answer"):
            program.phonemes("hang")
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # the hung program is gone
        assert program.phonemes("again").endswith(":again")
    finally:
        program.close()


def test_a_stopped_program_refuses_clauses_rather_than_starting_another(fake_espeak: str) -> None:
    """A TTS thread left behind by a hung call must not start a program nobody will stop."""
    program = EspeakProgram("en-us", fake_espeak)
    assert program.phonemes("hello").endswith(":hello")
    program.close()
    with pytest.raises(PhonemizerStopped, match="stopped"):
        program.phonemes("again")


def test_programs_beyond_the_limit_stop_least_recently_used_first(fake_espeak: str) -> None:
    programs = EspeakPrograms(fake_espeak)
    try:
        pids = {voice: programs.phonemes("hi", voice).split(":")[0]
                for voice in ["v0", "v1", "v2", "v3", "v4"]}
        assert programs.phonemes("hi", "v4").split(":")[0] == pids["v4"]  # still running
        assert programs.phonemes("hi", "v0").split(":")[0] != pids["v0"]  # was stopped: a new one
        with pytest.raises(ProcessLookupError):
            os.kill(int(pids["v0"]), 0)
    finally:
        programs.close()


def test_the_piper_plugins_phonemizer_uses_the_long_lived_program_and_fails_with_its_own_error(
        fake_espeak: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from ovos_tts_plugin_piper import espeak_wrapper
    from ovos_tts_plugin_piper.espeak_wrapper import EspeakError, EspeakPhonemizer

    one_shot_method = getattr(EspeakPhonemizer.phonemize_string, "_realtime_one_shot",
                              EspeakPhonemizer.phonemize_string)  # the plugin's own, even if a server wrapped it
    monkeypatch.setattr(EspeakPhonemizer, "phonemize_string", one_shot_method)  # and put back afterwards
    phonemizer = EspeakPhonemizer()
    sentences = "Hello there, it is ten past two. Is it? Yes!"
    one_shot_phonemes = phonemizer.phonemize(sentences, "en-US")
    assert use_long_lived_programs() and use_long_lived_programs()
    assert EspeakPhonemizer.phonemize_string._realtime_one_shot is one_shot_method  # wrapped once, however often
    monkeypatch.setattr(espeak_phonemes, "PROGRAMS", EspeakPrograms())

    def no_one_shot(*args: object, **kwargs: object) -> None:
        raise AssertionError("the one-shot program ran")

    monkeypatch.setattr(espeak_wrapper.subprocess, "run", no_one_shot)
    assert phonemizer.phonemize(sentences, "en-US") == one_shot_phonemes
    monkeypatch.setattr(espeak_phonemes, "PROGRAMS", EspeakPrograms(fake_espeak))
    with pytest.raises(EspeakError, match="killed by signal 11"):
        phonemizer.phonemize_string("crash", "en-US")
