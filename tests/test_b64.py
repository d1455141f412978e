"""core/b64.py: the standard library's base64 (what is accepted, what is refused, the bytes), at SIMD speed."""

from __future__ import annotations

import base64
import binascii

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ovos_realtime_plugin.core import b64

TEXT = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n\té\0", max_size=48)


def outcome(decode: object, text: str) -> tuple[str, bytes | None]:
    try:
        return "ok", decode(text)  # type: ignore[operator]
    except (binascii.Error, ValueError):
        return "refused", None


@settings(max_examples=3000)
@given(TEXT)
def test_decoding_accepts_and_refuses_what_the_standard_library_does(text: str) -> None:
    assert outcome(b64.decode, text) == outcome(lambda t: base64.b64decode(t, validate=True), text)


@pytest.mark.parametrize("text", ["AAAA=", "AAAA==", "AA=A", "AAA", "A A A A", "AB-_", "é", ""])
def test_the_edges_where_pybase64_and_the_standard_library_differ_are_the_standard_librarys(text: str) -> None:
    assert outcome(b64.decode, text) == outcome(lambda t: base64.b64decode(t, validate=True), text)


@given(st.binary(max_size=4096))
def test_encoding_is_the_standard_librarys(data: bytes) -> None:
    assert b64.encode(data) == base64.b64encode(data).decode("ascii")
    assert b64.decode(b64.encode(data)) == data
