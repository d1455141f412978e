"""The default STT's fitted window against Whisper's 30 s window: words heard right, and time, on short commands.

Whisper tiny.en (the packaged model) through ``ovos-stt-plugin-whisper-fitted``'s model class, each command
heard twice in the same run: in its fitted window and in the 30 s window every other Whisper runner uses
(``fitted_max_s`` 0). 61 home-assistant commands spoken by three espeak-ng voices at three speeds, 300 ms of
silence before and 100 ms after (as the server's turn detection cuts them). Printed: word error rate, commands
heard word for word, median and p95 time per command.

    python -m benchmarks.bench_stt_accuracy
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from ovos_realtime_plugin.engines.choice import cpu_threads, offline_default
from ovos_realtime_plugin.engines.whisper_stt import FittedWhisper
from tests.fixtures_speech import silence, spoken
from tests.voice_helpers import words

COMMANDS = """good evening everyone|hello world|good morning|good night|thank you|what time is it|what's the date today|
tell me a joke|stop|pause the music|next song|volume up|turn it down|what is the weather|will it rain tomorrow|
set an alarm for seven am|cancel the timer|how are you|who are you|what can you do|open the garage door|
lock the front door|turn off the bedroom lights|dim the lights to fifty percent|play the news|read my messages|
call mom|add milk to the shopping list|what's on my calendar|how far is the moon|convert ten miles to kilometers|
what is two plus two|spell necessary|define serendipity|who is the president of France|
when was the eiffel tower built|play jazz in the kitchen|shuffle my playlist|repeat that|never mind|yes please|
no thanks|goodbye|start a ten minute timer|how long is left on my timer|wake me up at six thirty|
what's the temperature inside|is the oven on|turn on the fan|set the thermostat to twenty degrees|
show me the camera|what's the traffic like|how do I get to the station|translate hello into spanish|
what does this word mean|tell me something interesting|sing me a song|what day is it|how old are you|where am I|
hey there""".replace("\n", "").split("|")
VOICES = (("en-us", 160), ("en-gb+f3", 150), ("en-us+m3", 175))


def edits(heard: list[str], said: list[str]) -> int:
    """Word-level Levenshtein distance."""
    row = list(range(len(said) + 1))
    for i in range(1, len(heard) + 1):
        diagonal, row[0] = row[0], i
        for j in range(1, len(said) + 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (heard[i - 1] != said[j - 1]))
    return row[len(said)]


def main() -> None:
    whisper = FittedWhisper(offline_default("stt").config["model"], "int8", cpu_threads(), 1, 6)
    audio = [(said, np.frombuffer(silence(300, 16000) + spoken(said, 16000, wpm, voice) + silence(100, 16000),
                                  "<i2").astype(np.float32) / np.float32(32768))
             for voice, wpm in VOICES for said in COMMANDS]
    results: dict[str, tuple[list[int], list[float]]] = {"fitted": ([], []), "30 s": ([], [])}
    for said, samples in audio:  # alternating, so that the machine's drift hits both alike
        for name, fitted_max_s in (("fitted", 6.0), ("30 s", 0.0)):
            whisper.fitted_max_s = fitted_max_s
            start = time.perf_counter()
            heard = whisper.transcribe(samples, "en")
            results[name][1].append(time.perf_counter() - start)
            results[name][0].append(edits(words(heard), words(said)))
    total = sum(len(words(said)) for said, _ in audio)
    print(f"Whisper tiny.en, {len(audio)} spoken commands ({len(COMMANDS)} x {len(VOICES)} voices), "
          f"{cpu_threads()} thread(s)")
    for name, (errors, times) in results.items():
        print(f"  {name:7} window: WER {sum(errors) / total:.3f}, word for word {sum(e == 0 for e in errors)}/"
              f"{len(audio)}, median {statistics.median(times) * 1e3:.0f} ms, "
              f"p95 {statistics.quantiles(times, n=20)[18] * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
