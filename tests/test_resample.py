"""Sample-rate conversion: one-shot and streaming resampling of PCM16 LE mono."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pytest

from ovos_realtime_plugin.audio.resample import StreamResampler, resample

TONE_HZ = 1000.0
AMPLITUDE = 12000.0


def _sine(rate: int, seconds: float = 1.0, freq: float = TONE_HZ) -> bytes:
    t = np.arange(round(rate * seconds)) / rate
    return (AMPLITUDE * np.sin(2 * np.pi * freq * t)).astype("<i2").tobytes()


def _samples(pcm16: bytes) -> npt.NDArray[np.float64]:
    return np.frombuffer(pcm16, dtype="<i2").astype(np.float64)


def _peak_hz(pcm16: bytes, rate: int) -> float:
    samples = _samples(pcm16)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def _chunks(data: bytes, sizes: tuple[int, ...]) -> Iterator[bytes]:
    pos, i = 0, 0
    while pos < len(data):
        yield data[pos : pos + sizes[i % len(sizes)]]
        pos += sizes[i % len(sizes)]
        i += 1


@pytest.mark.parametrize(
    ("from_rate", "to_rate"), [(24000, 16000), (24000, 8000), (8000, 24000), (16000, 24000)]
)
def test_resampled_tone_keeps_frequency_level_and_duration(from_rate: int, to_rate: int) -> None:
    out = resample(_sine(from_rate), from_rate, to_rate)
    assert len(out) % 2 == 0
    assert abs(len(out) // 2 - to_rate) <= 4
    assert _peak_hz(out, to_rate) == pytest.approx(TONE_HZ, abs=2.0)
    # Skip the filter's edge transients, then the RMS of a sine is amplitude / sqrt(2).
    middle = _samples(out)[to_rate // 10 : -to_rate // 10]
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(AMPLITUDE / np.sqrt(2), rel=0.02)


def test_tone_above_the_new_nyquist_is_filtered_out() -> None:
    out = resample(_sine(24000, freq=6000.0), 24000, 8000)
    middle = _samples(out)[800:-800]
    assert np.sqrt(np.mean(middle**2)) < AMPLITUDE * 0.01


def test_equal_rates_return_input_unchanged() -> None:
    pcm = _sine(16000)
    assert resample(pcm, 16000, 16000) is pcm
    stream = StreamResampler(16000, 16000)
    assert b"".join(stream.process(c) for c in _chunks(pcm, (3, 1, 1000, 7))) + stream.flush() == pcm


def test_empty_input() -> None:
    assert resample(b"", 24000, 16000) == b""
    stream = StreamResampler(24000, 16000)
    assert stream.process(b"") == b""
    assert stream.flush() == b""


@pytest.mark.parametrize(("from_rate", "to_rate"), [(24000, 16000), (24000, 8000), (8000, 24000)])
@pytest.mark.parametrize("sizes", [(1,), (7, 333, 1, 1001), (4801,)])
def test_streaming_in_odd_chunks_matches_one_shot(
    from_rate: int, to_rate: int, sizes: tuple[int, ...]
) -> None:
    pcm = _sine(from_rate, seconds=0.5)
    one_shot = _samples(resample(pcm, from_rate, to_rate))
    stream = StreamResampler(from_rate, to_rate)
    pieces = [stream.process(chunk) for chunk in _chunks(pcm, sizes)]
    streamed_bytes = b"".join(pieces) + stream.flush()
    assert len(streamed_bytes) % 2 == 0
    streamed = _samples(streamed_bytes)
    assert abs(len(streamed) - len(one_shot)) <= 4
    common = min(len(streamed), len(one_shot))
    assert np.max(np.abs(streamed[:common] - one_shot[:common])) <= 4


def test_odd_trailing_byte_is_kept_until_the_next_chunk() -> None:
    pcm = np.array([1000, -1000, 2000], dtype="<i2").tobytes()
    stream = StreamResampler(8000, 8000)
    assert stream.process(pcm[:3]) == pcm[:2]
    assert stream.process(pcm[3:5]) == pcm[2:4]
    assert stream.process(pcm[5:]) == pcm[4:]


def test_flush_ends_the_stream_and_the_resampler_can_be_reused() -> None:
    pcm = _sine(24000, seconds=0.25)
    stream = StreamResampler(24000, 16000)
    first = stream.process(pcm) + stream.flush()
    second = stream.process(pcm) + stream.flush()
    assert abs(len(first) // 2 - 4000) <= 4
    assert first == second


def test_flush_drops_a_dangling_half_sample() -> None:
    stream = StreamResampler(8000, 8000)
    assert stream.process(b"\x01\x02\x03") == b"\x01\x02"
    assert stream.flush() == b""
    assert stream.process(b"\x04\x05") == b"\x04\x05"


def test_invalid_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="even number of bytes"):
        resample(b"\x00\x00\x00", 24000, 16000)
    with pytest.raises(ValueError, match="positive"):
        resample(b"\x00\x00", 0, 16000)
    with pytest.raises(ValueError, match="positive"):
        StreamResampler(24000, -8000)
