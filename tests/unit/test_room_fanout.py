"""The room's one writer: each message is encoded once and the same frame goes to every socket;
a slow viewer skips ticks (counted) but never a stock change; past the hard limit it is closed."""

from __future__ import annotations

import orjson
import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from livepledge.live.room import DirectClient, Room
from livepledge.live.wsserver import text_frame


class FakeSocket:
    """What DirectClient needs of live/wsserver.py's protocol and its transport; the test sets
    how many bytes the transport holds unsent."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.buffered_bytes = 0
        self.closed: tuple[int, str] | None = None
        self.close_sent = False
        self.transport = self

    def is_closing(self) -> bool:
        return self.closed is not None

    def write(self, frame: bytes) -> None:
        self.frames.append(frame)

    def get_write_buffer_size(self) -> int:
        return self.buffered_bytes

    def drop(self, code: int, reason: str) -> None:
        self.closed = (code, reason)
        self.close_sent = True


def parse(frame: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(frame)
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        return done.value
    raise AssertionError("incomplete frame")


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_text_frame_is_a_valid_unmasked_text_frame(size: int) -> None:
    payload = ("好" * (size // 3) + "x" * (size % 3)).encode()
    frame = parse(text_frame(payload))
    assert (frame.opcode, frame.fin, frame.data) == (Opcode.TEXT, True, payload)
    assert not (frame.rsv1 or frame.rsv2 or frame.rsv3)


def _room(*sockets: FakeSocket, soft: int = 1000, hard: int = 10_000
          ) -> tuple[Room, list[DirectClient]]:
    room = Room(None, 1)  # type: ignore[arg-type]  # broadcast needs no hub
    clients = [DirectClient(f"a:{n}", None, s, soft_limit=soft, hard_limit=hard)  # type: ignore[arg-type]
               for n, s in enumerate(sockets)]
    for client in clients:
        room.clients.add(client)
        client.start(b'{"type":"snapshot"}')
    return room, clients


def test_the_same_frame_object_is_written_to_every_socket() -> None:
    sockets = [FakeSocket() for _ in range(5)]
    room, _ = _room(*sockets)
    room.broadcast(b'{"type":"stock","item_id":1,"stock_remaining":4}', critical=True)
    last = [s.frames[-1] for s in sockets]
    assert all(frame is last[0] for frame in last)
    assert parse(last[0]).data == b'{"type":"stock","item_id":1,"stock_remaining":4}'
    assert room.frames == 5


def test_a_slow_viewer_skips_ticks_but_gets_every_stock_change() -> None:
    fast, slow = FakeSocket(), FakeSocket()
    room, (_, slow_client) = _room(fast, slow)
    slow.buffered_bytes = 5000  # above the soft limit, below the hard one
    stock = [orjson.dumps({"type": "stock", "item_id": 1, "stock_remaining": n})
             for n in range(10, 0, -1)]
    for n, change in enumerate(stock):
        room.broadcast(orjson.dumps({"type": "tick", "chat": [n]}), critical=False)
        room.broadcast(change, critical=True)

    received = [orjson.loads(parse(f).data) for f in slow.frames[1:]]
    assert received == [orjson.loads(s) for s in stock]
    assert slow_client.skipped == 10
    assert len(fast.frames) == 1 + 20
    assert slow.closed is None


def test_past_the_hard_limit_a_viewer_is_closed_not_buffered() -> None:
    slow = FakeSocket()
    room, (client,) = _room(slow)
    slow.buffered_bytes = 20_000
    room.broadcast(b'{"type":"stock","item_id":1,"stock_remaining":3}', critical=True)
    room.broadcast(b'{"type":"stock","item_id":1,"stock_remaining":2}', critical=True)
    assert slow.closed == (1013, "slow consumer")
    assert client.dropped
    assert len(slow.frames) == 1  # the snapshot only


def test_what_is_broadcast_before_the_snapshot_follows_it() -> None:
    socket = FakeSocket()
    room = Room(None, 1)  # type: ignore[arg-type]
    client = DirectClient("a:1", None, socket, soft_limit=1000, hard_limit=10_000)  # type: ignore[arg-type]
    room.clients.add(client)
    room.broadcast(b'{"type":"tick"}', critical=False)
    room.broadcast(b'{"type":"stock"}', critical=True)
    assert socket.frames == []
    client.start(b'{"type":"snapshot"}')
    assert [parse(f).data for f in socket.frames] == [
        b'{"type":"snapshot"}', b'{"type":"tick"}', b'{"type":"stock"}']
