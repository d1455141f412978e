"""G.711 codec: bit-exact with CPython's audioop (live when importable, else stored vectors).

Regenerate the stored vectors (needs a Python that still has audioop, <= 3.12):
    python -m tests.test_g711
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from ovos_realtime_plugin.audio import g711
from ovos_realtime_plugin.audio.codec import decode_to_pcm16, encode_from_pcm16

VECTORS = Path(__file__).parent / "data" / "g711_vectors.json"
# Every int16 value in the order of its uint16 bit pattern: 0..32767, -32768..-1.
ALL_SAMPLES = np.arange(65536, dtype=np.uint16).view(np.int16).astype("<i2").tobytes()
ALL_CODES = bytes(range(256))

Codec = tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]
CODECS: dict[str, Codec] = {
    "ulaw": (g711.ulaw_encode, g711.ulaw_decode),
    "alaw": (g711.alaw_encode, g711.alaw_decode),
}


def _import_audioop() -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pytest.importorskip("audioop")


def _pcm(samples: list[int]) -> bytes:
    return np.array(samples, dtype="<i2").tobytes()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def vectors() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(VECTORS.read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_bit_exact_with_audioop_over_every_sample_and_code(law: str) -> None:
    audioop = _import_audioop()
    encode, decode = CODECS[law]
    lin2x = getattr(audioop, f"lin2{law}")
    x2lin = getattr(audioop, f"{law}2lin")
    assert encode(ALL_SAMPLES) == lin2x(ALL_SAMPLES, 2)
    assert decode(ALL_CODES) == x2lin(ALL_CODES, 2)


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_matches_stored_reference_vectors(law: str, vectors: dict[str, Any]) -> None:
    encode, decode = CODECS[law]
    assert _sha256(encode(ALL_SAMPLES)) == vectors["encode_sha256"][law]
    assert _sha256(decode(ALL_CODES)) == vectors["decode_sha256"][law]
    decoded = np.frombuffer(decode(ALL_CODES), dtype="<i2").tolist()
    assert decoded == vectors["decode"][law]
    samples = vectors["encode"]["samples"]
    assert list(encode(_pcm(samples))) == vectors["encode"][law]


def test_stored_vectors_cover_the_edge_samples(vectors: dict[str, Any]) -> None:
    assert {-32768, -32767, -1, 0, 1, 32766, 32767} <= set(vectors["encode"]["samples"])


@pytest.mark.parametrize(
    ("law", "sample", "code"),
    [
        ("ulaw", 0, 0xFF),
        ("ulaw", -1, 0x7E),
        ("ulaw", 32767, 0x80),
        ("ulaw", -32768, 0x00),
        ("alaw", 0, 0xD5),
        ("alaw", -1, 0x55),
        ("alaw", 32767, 0xAA),
        ("alaw", -32768, 0x2A),
    ],
)
def test_known_codes_for_edge_samples(law: str, sample: int, code: int) -> None:
    encode, _ = CODECS[law]
    assert encode(_pcm([sample])) == bytes([code])


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_decoded_code_reencodes_to_itself(law: str) -> None:
    encode, decode = CODECS[law]
    reencoded = encode(decode(ALL_CODES))
    # mu-law has two zeros; 0x7F (-0) decodes to 0, which encodes as 0xFF (+0).
    expected = ALL_CODES.replace(b"\x7f", b"\xff") if law == "ulaw" else ALL_CODES
    assert reencoded == expected


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_empty_input_and_odd_length_pcm(law: str) -> None:
    encode, decode = CODECS[law]
    assert encode(b"") == b""
    assert decode(b"") == b""
    with pytest.raises(ValueError, match="even number of bytes"):
        encode(b"\x00\x01\x02")


def test_codec_dispatches_on_format_type() -> None:
    speech = _pcm([0, 1000, -1000, 32767, -32768])
    assert encode_from_pcm16(speech, "audio/pcmu") == g711.ulaw_encode(speech)
    assert encode_from_pcm16(speech, "audio/pcma") == g711.alaw_encode(speech)
    assert decode_to_pcm16(ALL_CODES, "audio/pcmu") == g711.ulaw_decode(ALL_CODES)
    assert decode_to_pcm16(ALL_CODES, "audio/pcma") == g711.alaw_decode(ALL_CODES)
    assert encode_from_pcm16(speech, "audio/pcm") == speech
    assert decode_to_pcm16(speech, "audio/pcm") == speech


@pytest.mark.parametrize("fmt_type", ["audio/wav", "pcm16", ""])
def test_codec_rejects_unknown_format(fmt_type: str) -> None:
    with pytest.raises(ValueError, match="unsupported audio format"):
        decode_to_pcm16(b"\x00\x00", fmt_type)
    with pytest.raises(ValueError, match="unsupported audio format"):
        encode_from_pcm16(b"\x00\x00", fmt_type)


def _vector_samples() -> list[int]:
    """Edges, the neighbourhood of every power of two, the clip point, and random values."""
    chosen = {-32768, -32767, -1, 0, 1, 32766, 32767}
    for bit in range(16):
        for delta in (-2, -1, 0, 1, 2):
            chosen.update(v for v in (2**bit + delta, -(2**bit) + delta) if -32768 <= v <= 32767)
    chosen.update(range(32630, 32641))
    chosen.update(range(-32641, -32630))
    rng = random.Random(711)
    while len(chosen) < 400:
        chosen.add(rng.randint(-32768, 32767))
    return sorted(chosen)


def _write_vectors(audioop: ModuleType) -> None:
    samples = _vector_samples()
    data: dict[str, Any] = {
        "source": f"CPython {sys.version.split()[0]} audioop, width=2",
        "generator": "python -m tests.test_g711",
        "encode_sha256": {law: _sha256(getattr(audioop, f"lin2{law}")(ALL_SAMPLES, 2)) for law in CODECS},
        "decode_sha256": {law: _sha256(getattr(audioop, f"{law}2lin")(ALL_CODES, 2)) for law in CODECS},
        "decode": {
            law: np.frombuffer(getattr(audioop, f"{law}2lin")(ALL_CODES, 2), "<i2").tolist() for law in CODECS
        },
        "encode": {"samples": samples}
        | {law: list(getattr(audioop, f"lin2{law}")(_pcm(samples), 2)) for law in CODECS},
    }
    # One list per line keeps the file short and diffable.
    lines = ["{"]
    for i, (key, value) in enumerate(data.items()):
        comma = "," if i < len(data) - 1 else ""
        if isinstance(value, dict):
            inner = ",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in value.items())
            lines.append(f"  {json.dumps(key)}: {{\n{inner}\n  }}{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}{comma}")
    lines.append("}")
    VECTORS.parent.mkdir(exist_ok=True)
    VECTORS.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop
    _write_vectors(audioop)
    print("wrote", VECTORS)
