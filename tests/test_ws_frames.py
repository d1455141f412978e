"""The WebSocket text frames the server writes in one batch, read back by the websockets library's own parser:
every length class of RFC 6455 (7-bit, 16-bit and 64-bit), in order, intact."""

from __future__ import annotations

import pytest
from websockets.frames import OP_TEXT, Frame
from websockets.streams import StreamReader

from ovos_realtime_plugin.server.ws_transport import text_frame

SIZES = [0, 1, 125, 126, 127, 65535, 65536, 300_000]


def read_frames(data: bytes, count: int) -> list[Frame]:
    reader = StreamReader()
    reader.feed_data(data)
    frames = []
    for _ in range(count):
        parser = Frame.parse(reader.read_exact, mask=False)
        try:
            while True:
                next(parser)
        except StopIteration as done:
            frames.append(done.value)
    return frames


@pytest.mark.parametrize("size", SIZES)
def test_one_frame_of_each_length_class(size: int) -> None:
    payload = ("é" * (size // 2) + "x" * (size % 2)).encode()
    (frame,) = read_frames(text_frame(payload), 1)
    assert (frame.opcode, frame.fin, frame.data) == (OP_TEXT, True, payload)


def test_a_batch_reads_back_as_its_frames_in_order() -> None:
    payloads = [(f'{{"n":{n},"pad":"' + "p" * size + '"}').encode() for n, size in enumerate(SIZES)]
    frames = read_frames(b"".join(text_frame(p) for p in payloads), len(payloads))
    assert [f.data for f in frames] == payloads
