"""The room's own listener (live/roomserver.py): what a room broadcasts is written once per tick
to every socket as one `transport.write` of the same bytes; a slow viewer gets every card/stock/
session frame and skips only chat ticks (counted); past the hard limit it is cut off."""

from __future__ import annotations

from types import SimpleNamespace

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.frames import Frame
from websockets.streams import StreamReader

from livepledge.live.room import Room

SOFT, HARD = 1000, 16_000


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.buffered = 0
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return self.aborted


class FakeSocket:
    """What Room.flush_sockets needs of a RoomSocket."""

    def __init__(self) -> None:
        self.transport = FakeTransport()
        self.skipped = 0
        self.dropped = False

    def drop(self) -> None:
        self.dropped = True
        self.transport.aborted = True


def frames(data: bytes) -> list[bytes]:
    """The payloads of the server frames in `data` (several frames in one write)."""
    reader = StreamReader()
    reader.feed_data(data)
    out = []
    while True:
        parser = Frame.parse(reader.read_exact, mask=False)
        try:
            next(parser)
        except StopIteration as done:
            out.append(done.value.data)
            continue
        return out


def _room(*sockets: FakeSocket) -> Room:
    room = Room(SimpleNamespace(soft_limit=SOFT, hard_limit=HARD), 1)  # type: ignore[arg-type]
    for sock in sockets:
        room.sockets[sock] = None
    return room


def stock(n: int) -> bytes:
    return orjson.dumps({"type": "stock", "item_id": 1, "stock_remaining": n})


def tick(n: int) -> bytes:
    return orjson.dumps({"type": "tick", "chat": [n], "likes_total": 0, "viewers": 2})


def test_one_write_per_viewer_per_tick_the_same_bytes_for_all() -> None:
    sockets = [FakeSocket() for _ in range(4)]
    room = _room(*sockets)
    room.broadcast(stock(5), critical=True)
    room.broadcast(stock(4), critical=True)
    room.broadcast(tick(1), critical=False)
    assert all(s.transport.writes == [] for s in sockets)  # nothing before the tick
    room.flush_sockets()
    writes = [s.transport.writes for s in sockets]
    assert all(len(w) == 1 and w[0] is writes[0][0] for w in writes)
    assert frames(writes[0][0]) == [stock(5), stock(4), tick(1)]
    assert room.frames == 12
    room.flush_sockets()  # nothing new: nothing written
    assert all(len(s.transport.writes) == 1 for s in sockets)


def test_a_slow_viewer_skips_ticks_but_gets_every_stock_change() -> None:
    fast, slow = FakeSocket(), FakeSocket()
    room = _room(fast, slow)
    slow.transport.buffered = SOFT + 1  # behind, below the hard limit
    for n in range(10, 0, -1):
        room.broadcast(tick(n), critical=False)
        room.broadcast(stock(n), critical=True)
        room.flush_sockets()
    got = [f for w in slow.transport.writes for f in frames(w)]
    assert got == [stock(n) for n in range(10, 0, -1)]
    assert slow.skipped == 10 and not slow.dropped
    assert [f for w in fast.transport.writes for f in frames(w)] == [
        x for n in range(10, 0, -1) for x in (tick(n), stock(n))]


def test_past_the_hard_limit_a_viewer_is_cut_off_when_a_stock_change_is_due() -> None:
    slow = FakeSocket()
    room = _room(slow)
    slow.transport.buffered = HARD + 1
    room.broadcast(tick(1), critical=False)
    room.flush_sockets()  # only a tick: skipped, the viewer is kept
    assert (slow.dropped, slow.skipped, slow.transport.writes) == (False, 1, [])
    room.broadcast(stock(3), critical=True)
    room.flush_sockets()  # a stock change it cannot take: cut off, never buffered
    assert slow.dropped and slow.transport.writes == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.lists(st.booleans(), max_size=6),
                          st.sampled_from([0, SOFT, SOFT + 1, HARD])), max_size=30))
def test_no_stock_change_is_ever_skipped_for_a_slow_viewer(
        ticks: list[tuple[list[bool], int]]) -> None:
    """Whatever the mix of messages and however far behind the viewer is at each tick (short
    of the hard limit), it receives every critical frame, in order, and loses only ticks."""
    sock = FakeSocket()
    room = _room(sock)
    sent_critical, sent_other, n = [], 0, 0
    for kinds, buffered in ticks:
        sock.transport.buffered = buffered
        for critical in kinds:
            n += 1
            if critical:
                sent_critical.append(stock(n))
                room.broadcast(stock(n), critical=True)
            else:
                sent_other += 1
                room.broadcast(tick(n), critical=False)
        room.flush_sockets()
    got = [f for w in sock.transport.writes for f in frames(w)]
    assert [f for f in got if b'"stock"' in f] == sent_critical
    assert len(got) - len(sent_critical) + sock.skipped == sent_other
    assert not sock.dropped


def test_a_socket_closed_under_the_room_does_not_stop_the_others() -> None:
    class Closed(FakeTransport):
        def write(self, data: bytes) -> None:  # uvloop, once the connection is lost
            raise RuntimeError("unable to perform operation on <TCPTransport closed=True>")

    first, gone, last = FakeSocket(), FakeSocket(), FakeSocket()
    gone.transport = Closed()
    room = _room(first, gone, last)
    room.broadcast(stock(7), critical=True)
    room.flush_sockets()
    assert [frames(s.transport.writes[0]) for s in (first, last)] == [[stock(7)], [stock(7)]]
    assert room.frames == 2
