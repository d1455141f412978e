"""websocket-client's UTF-8 check of bus messages, made by Python's decoder: the same verdicts on any bytes, and
the bus's own reader uses it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from websocket import _abnf, _utils

from ovos_realtime_plugin.bus.client import BusConnection
from ovos_realtime_plugin.patches.ws_utf8 import fast_utf8_check, valid_utf8
from tests.fixtures_ovos import next_of_type, observe

TRICKY = [b"", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"caf\xc3\xa9", b"\xff",
          "na\u00efve \U0001f600".encode(), "\ud800".encode("utf-8", "surrogatepass")]


def complete(data: bytes) -> bool:
    """websocket-client's own check also accepts a message that stops inside a character (it fails later, when
    decoded): compare only bytes that do not."""
    return _utils._validate_utf8(data + b"A")


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=64), st.text(max_size=32).map(lambda t: t.encode("utf-8", "surrogatepass")),
                 st.sampled_from(TRICKY)))
def test_the_decoder_gives_websocket_client_s_verdict(data: bytes) -> None:
    assert valid_utf8(data) == complete(data)
    assert valid_utf8(bytearray(data)) == valid_utf8(data)


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=()), max_size=24))
def test_text_gets_websocket_client_s_verdict_lone_surrogates_included(text: str) -> None:
    assert valid_utf8(text) == _utils.validate_utf8(text)


def test_a_message_that_stops_inside_a_character_is_refused() -> None:
    assert not valid_utf8("caf\u00e9".encode()[:-1])
    assert valid_utf8("caf\u00e9")


async def test_the_bus_connection_reads_messages_through_it(ovos_bus: BusConnection) -> None:
    assert _abnf.validate_utf8 is valid_utf8
    fast_utf8_check()  # again: nothing changes
    assert _abnf.validate_utf8 is valid_utf8
    observer, seen = await observe(ovos_bus.port, "utf8-check")
    try:
        said = "caf\u00e9 \u2615 na\u00efve \U0001f600"
        ovos_bus.emit("speak", {"utterance": said}, {"session": {"session_id": "utf8-check"}})
        assert (await next_of_type(seen, "speak")).data["utterance"] == said
    finally:
        await observer.close()
