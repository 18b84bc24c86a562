"""The RESP2 parser and the multiplexed protocol of the lean Redis client, without Redis.

Replies are generated as a model (a tagged tree), written to the wire by a small encoder that
lives here rather than in the code under test, cut into arbitrary chunks and fed to the
protocol, which must resolve one waiting future per reply, in order, as soon as the reply's last
byte has arrived."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livepledge.infra.resp import (
    _INCOMPLETE,
    RespConnectionError,
    RespError,
    RespProtocolError,
    RespTimeoutError,
    _Protocol,
    encode,
    parse,
)

# --- a model of RESP2 replies and an independent encoder for it ----------------------------

Node = tuple[Any, ...]  # ("int", n) | ("bulk", b) | ("null_bulk",) | ("null_array",) |
#                         ("simple", s) | ("error", s) | ("array", [Node, ...])

_line = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20)
_bulk_bytes = st.lists(
    st.one_of(st.binary(max_size=8), st.sampled_from([b"\r\n", b"\r", b"\n", b"$3\r\n", b"*"])),
    max_size=6,
).map(b"".join)
_scalars = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80).map(lambda n: ("int", n)),
    st.sampled_from([0, -1, 2**63 - 1, -(2**63)]).map(lambda n: ("int", n)),
    _bulk_bytes.map(lambda b: ("bulk", b)),
    st.just(("null_bulk",)),
    st.just(("null_array",)),
    _line.map(lambda s: ("simple", s)),
    _line.map(lambda s: ("error", s)),
)
nodes = st.recursive(
    _scalars, lambda children: st.lists(children, max_size=5).map(lambda xs: ("array", xs)),
    max_leaves=25)


def serialise(node: Node) -> bytes:
    kind = node[0]
    if kind == "int":
        return b":%d\r\n" % node[1]
    if kind == "bulk":
        return b"$%d\r\n" % len(node[1]) + node[1] + b"\r\n"
    if kind == "null_bulk":
        return b"$-1\r\n"
    if kind == "null_array":
        return b"*-1\r\n"
    if kind == "simple":
        return b"+" + node[1].encode("ascii") + b"\r\n"
    if kind == "error":
        return b"-" + node[1].encode("ascii") + b"\r\n"
    assert kind == "array"
    return b"*%d\r\n" % len(node[1]) + b"".join(serialise(child) for child in node[1])


def expected(node: Node) -> Any:
    """The parsed value the node stands for, with errors as ("RespError", message)."""
    kind = node[0]
    if kind in ("null_bulk", "null_array"):
        return None
    if kind == "error":
        return ("RespError", node[1])
    if kind == "array":
        return [expected(child) for child in node[1]]
    return node[1]


def normalise(value: Any) -> Any:
    """A parsed value made comparable: RespError instances become ("RespError", message)."""
    if isinstance(value, RespError):
        assert type(value) is RespError
        return ("RespError", str(value))
    if isinstance(value, list):
        return [normalise(item) for item in value]
    assert value is None or type(value) in (int, bytes, str), value
    return value


class FakeTransport:
    """Records what the protocol does to its transport."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.aborts = 0

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default

    def write(self, data: bytes) -> None:
        self.written.append(bytes(data))

    def abort(self) -> None:
        self.aborts += 1


def connected(loop: asyncio.AbstractEventLoop) -> tuple[_Protocol, FakeTransport]:
    protocol = _Protocol(loop, 5.0)
    transport = FakeTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    return protocol, transport


def chunked(stream: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def assert_resolved_as(future: asyncio.Future[Any], node: Node) -> None:
    assert future.done()
    if node[0] == "error":
        error = future.exception()
        assert type(error) is RespError
        assert str(error) == node[1]
    else:
        assert future.exception() is None
        assert normalise(future.result()) == expected(node)


# --- the serialiser in the test agrees with hand-written wire bytes ------------------------

def test_the_test_encoder_writes_resp2() -> None:
    node = ("array", [("int", -3), ("bulk", b"a\r\nb"), ("null_bulk",), ("null_array",),
                      ("simple", "OK"), ("error", "ERR x"), ("array", [])])

    assert serialise(node) == (b"*7\r\n:-3\r\n$4\r\na\r\nb\r\n$-1\r\n*-1\r\n+OK\r\n-ERR x\r\n"
                               b"*0\r\n")


# --- parse ---------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(node=nodes)
def test_parse_returns_the_value_and_the_position_after_it(node: Node) -> None:
    encoded = serialise(node)
    buffer = bytearray(b"+junk\r\n" + encoded + b":7\r\n")

    value, after = parse(buffer, 7)  # type: ignore[misc]

    assert normalise(value) == expected(node)
    assert after == 7 + len(encoded)
    assert parse(buffer, after) == (7, len(buffer))


@settings(max_examples=200, deadline=None)
@given(node=nodes)
def test_parse_of_every_strict_prefix_is_incomplete(node: Node) -> None:
    encoded = serialise(node)
    for end in range(len(encoded)):
        assert parse(encoded[:end], 0) is _INCOMPLETE, encoded[:end]
        assert parse(bytearray(b":1\r\n" + encoded[:end]), 4) is _INCOMPLETE, encoded[:end]


def test_parse_of_known_replies() -> None:
    assert parse(b":-42\r\n", 0) == (-42, 6)
    assert parse(b"+PONG\r\n", 0) == ("PONG", 7)
    assert parse(b"$0\r\n\r\n", 0) == (b"", 6)
    assert parse(b"$-1\r\n", 0) == (None, 5)
    assert parse(b"*-1\r\n", 0) == (None, 5)
    assert parse(b"*0\r\n", 0) == ([], 4)
    assert parse(b"*2\r\n$1\r\nk\r\n*1\r\n:1\r\n", 0) == ([b"k", [1]], 19)
    error, after = parse(b"-NOSCRIPT No matching script\r\n", 0)  # type: ignore[misc]
    assert type(error) is RespError
    assert str(error) == "NOSCRIPT No matching script"
    assert after == 30


@pytest.mark.parametrize("reply", [b"?what\r\n", b"%1\r\n+a\r\n+b\r\n", b"*1\r\n_\r\n"])
def test_parse_rejects_an_unknown_type_byte(reply: bytes) -> None:
    with pytest.raises(RespProtocolError, match="unexpected RESP type byte"):
        parse(reply, 0)


def test_parse_rejects_a_bulk_string_not_terminated_by_crlf() -> None:
    with pytest.raises(RespProtocolError, match="not terminated"):
        parse(b"$3\r\nabcd\r\n", 0)


# --- encode --------------------------------------------------------------------------------

def test_encode_writes_an_array_of_bulk_strings() -> None:
    assert encode(["SET", "k", 12, b"\x00\xff"]) == (
        b"*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n$2\r\n\x00\xff\r\n")
    assert encode(["SET", "ключ", -7, "", b"a\r\nb"]) == (
        b"*5\r\n$3\r\nSET\r\n$8\r\n\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87\r\n$2\r\n-7\r\n$0\r\n\r\n"
        b"$4\r\na\r\nb\r\n")


@pytest.mark.parametrize("bad", [1.5, True, False, None, bytearray(b"x"), ["nested"]])
def test_encode_refuses_anything_but_bytes_str_and_int(bad: object) -> None:
    with pytest.raises(TypeError, match=type(bad).__name__):
        encode(["SET", "k", bad])


@settings(max_examples=200, deadline=None)
@given(args=st.lists(st.one_of(st.binary(max_size=20), st.text(max_size=10),
                               st.integers(min_value=-(2**70), max_value=2**70)),
                     min_size=1, max_size=8))
def test_encode_round_trips_through_parse(args: list[object]) -> None:
    encoded = encode(args)

    as_bytes = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    assert parse(encoded, 0) == (as_bytes, len(encoded))


# --- the protocol: many replies, split anywhere ---------------------------------------------

@settings(max_examples=300, deadline=None)
@given(replies=st.lists(nodes, min_size=1, max_size=8), data=st.data())
def test_replies_split_anywhere_resolve_their_waiters_in_order(replies: list[Node],
                                                               data: st.DataObject) -> None:
    encoded = [serialise(node) for node in replies]
    stream = b"".join(encoded)
    ends = list(itertools.accumulate(len(e) for e in encoded))
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12), label="cuts")
    loop = asyncio.new_event_loop()
    try:
        protocol, transport = connected(loop)
        futures = [loop.create_future() for _ in replies]
        for future in futures:
            protocol.expect(future)

        received = 0
        for chunk in chunked(stream, cuts):
            protocol.data_received(chunk)
            received += len(chunk)
            # a reply is delivered as soon as its last byte is in, and not before
            complete = sum(1 for end in ends if end <= received)
            assert [f.done() for f in futures] == [n < complete for n in range(len(futures))]

        for future, node in zip(futures, replies, strict=True):
            assert_resolved_as(future, node)
        assert not protocol.waiters
        assert protocol.buffer == b""
        assert transport.aborts == 0
        assert not protocol.lost
    finally:
        loop.close()


async def test_send_writes_the_command_and_queues_a_waiter() -> None:
    protocol, transport = connected(asyncio.get_running_loop())

    first = protocol.send(encode(["GET", "a"]))
    second = protocol.send(encode(["PING"]))

    assert transport.written == [encode(["GET", "a"]), encode(["PING"])]
    assert list(protocol.waiters) == [first, second]
    protocol.data_received(b"$1\r\nA\r\n+PO")
    assert first.result() == b"A"
    assert not second.done()
    protocol.data_received(b"NG\r\n")
    assert second.result() == "PONG"


# --- protocol errors and replies nobody asked for -------------------------------------------

GARBAGE = [
    pytest.param(b"?what\r\n", id="unknown-type-byte"),
    pytest.param(b"*2\r\n:1\r\n!3\r\nabc\r\n", id="unknown-type-byte-nested"),
    pytest.param(b":12x\r\n", id="bad-integer"),
    pytest.param(b"$3\r\nabcd\r\n", id="bulk-without-crlf"),
    pytest.param(b"$\r\n", id="bulk-without-length"),
]


@pytest.mark.parametrize("bytewise", [False, True], ids=["one-chunk", "byte-by-byte"])
@pytest.mark.parametrize("garbage", GARBAGE)
async def test_a_malformed_reply_fails_every_waiter_and_aborts(garbage: bytes,
                                                               bytewise: bool) -> None:
    loop = asyncio.get_running_loop()
    protocol, transport = connected(loop)
    futures = [loop.create_future() for _ in range(4)]
    for future in futures:
        protocol.expect(future)
    stream = b":1\r\n" + garbage + b":3\r\n:4\r\n"

    for chunk in ([stream[n:n + 1] for n in range(len(stream))] if bytewise else [stream]):
        protocol.data_received(chunk)
        if transport.aborts:
            break  # an aborted transport delivers nothing more

    assert futures[0].result() == 1
    for future in futures[1:]:
        error = future.exception()
        assert type(error) is RespProtocolError
        assert str(error).startswith("Redis protocol error: ")
    assert transport.aborts == 1
    assert protocol.lost
    assert not protocol.waiters


async def test_a_reply_with_no_waiter_is_a_protocol_error() -> None:
    loop = asyncio.get_running_loop()
    protocol, transport = connected(loop)
    asked = loop.create_future()
    protocol.expect(asked)

    protocol.data_received(b"+OK\r\n:2\r\n")

    assert asked.result() == "OK"
    assert transport.aborts == 1
    assert protocol.lost
    assert not protocol.waiters


async def test_a_reply_beyond_a_cancelled_waiter_is_a_protocol_error() -> None:
    # the cancelled waiter consumes (and drops) the first reply; the second has no waiter
    loop = asyncio.get_running_loop()
    protocol, transport = connected(loop)
    cancelled = loop.create_future()
    cancelled.cancel()
    protocol.expect(cancelled)

    protocol.data_received(b":1\r\n:2\r\n")

    assert cancelled.cancelled()
    assert transport.aborts == 1
    assert protocol.lost
    assert not protocol.waiters


async def test_connection_lost_fails_pending_waiters_with_a_connection_error() -> None:
    loop = asyncio.get_running_loop()
    protocol, _ = connected(loop)
    pending, cancelled = loop.create_future(), loop.create_future()
    cancelled.cancel()
    protocol.expect(cancelled)
    protocol.expect(pending)
    protocol.data_received(b"$5\r\npart")  # half a reply, for the cancelled waiter

    protocol.connection_lost(ConnectionResetError("reset"))

    assert type(pending.exception()) is RespConnectionError
    assert "reset" in str(pending.exception())
    assert cancelled.cancelled()
    assert protocol.lost
    assert not protocol.waiters


# --- cancelled waiters ------------------------------------------------------------------------

@pytest.mark.parametrize("bytewise", [False, True], ids=["one-chunk", "byte-by-byte"])
async def test_a_cancelled_waiter_does_not_shift_the_replies(bytewise: bool) -> None:
    loop = asyncio.get_running_loop()
    protocol, transport = connected(loop)
    futures = [loop.create_future() for _ in range(5)]
    for future in futures:
        protocol.expect(future)
    futures[1].cancel()
    futures[3].cancel()
    stream = b":1\r\n-ERR two\r\n+three\r\n$4\r\nfour\r\n*1\r\n$4\r\nfive\r\n"

    for chunk in ([stream[n:n + 1] for n in range(len(stream))] if bytewise else [stream]):
        protocol.data_received(chunk)

    assert futures[0].result() == 1
    assert futures[1].cancelled()
    assert futures[2].result() == "three"
    assert futures[3].cancelled()
    assert futures[4].result() == [b"five"]
    assert not protocol.waiters
    assert transport.aborts == 0


async def test_a_waiter_cancelled_while_its_reply_is_half_read_does_not_shift_replies() -> None:
    loop = asyncio.get_running_loop()
    protocol, _ = connected(loop)
    slow, nxt = loop.create_future(), loop.create_future()
    protocol.expect(slow)
    protocol.expect(nxt)

    protocol.data_received(b"*2\r\n$3\r\nabc\r\n")
    slow.cancel()
    protocol.data_received(b":9\r\n+PONG\r\n")

    assert slow.cancelled()
    assert nxt.result() == "PONG"
    assert not protocol.waiters


class ClockLoop:
    """The protocol's view of the loop, with a clock the test moves and timers it fires."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.now = 0.0
        self.timers: list[tuple[float, Any]] = []

    def time(self) -> float:
        return self.now

    def create_future(self) -> asyncio.Future[Any]:
        return self.loop.create_future()

    def call_at(self, when: float, callback: Any) -> asyncio.TimerHandle:
        handle = asyncio.TimerHandle(when, callback, (), self.loop)
        self.timers.append((when, handle))
        return handle

    def advance(self, to: float) -> None:
        """Move the clock and run the timers that are due and not cancelled, in order."""
        self.now = to
        while due := sorted((w, h) for w, h in self.timers if w <= to and not h.cancelled()):
            when, handle = due[0]
            self.timers.remove((when, handle))
            handle._run()


def clocked(loop: asyncio.AbstractEventLoop) -> tuple[_Protocol, FakeTransport, ClockLoop]:
    clock = ClockLoop(loop)
    protocol = _Protocol(clock, 5.0)  # type: ignore[arg-type]
    transport = FakeTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    return protocol, transport, clock


async def test_a_command_unanswered_for_the_reply_timeout_drops_the_connection() -> None:
    protocol, transport, clock = clocked(asyncio.get_running_loop())
    first = protocol.send(b"*1\r\n$4\r\nPING\r\n")
    clock.advance(3.0)
    second = protocol.send(b"*1\r\n$4\r\nPING\r\n")
    clock.advance(4.999)
    assert not first.done() and transport.aborts == 0

    clock.advance(5.0)

    for future in (first, second):  # both fail: the connection can no longer be trusted
        assert type(future.exception()) is RespTimeoutError
        assert isinstance(future.exception(), RespConnectionError)
    assert transport.aborts == 1
    assert protocol.lost
    assert not protocol.waiters and not protocol.sent_at


async def test_answers_in_time_never_trip_the_timeout_however_long_the_connection_lives() -> None:
    protocol, transport, clock = clocked(asyncio.get_running_loop())
    answered = []
    for second in range(0, 60, 4):  # a command every 4 s, each answered 4.5 s after it is sent
        clock.advance(float(second))
        answered.append(protocol.send(b"*1\r\n$4\r\nPING\r\n"))
        if second >= 4:
            clock.advance(second + 0.5)
            protocol.data_received(b"+PONG\r\n")  # the previous command's reply
    protocol.data_received(b"+PONG\r\n")
    clock.advance(200.0)  # idle: nothing waits, nothing fires

    assert [f.result() for f in answered] == ["PONG"] * 15
    assert transport.aborts == 0 and not protocol.lost
