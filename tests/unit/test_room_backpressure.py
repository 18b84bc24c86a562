"""A slow viewer never makes the server buffer without bound."""

from __future__ import annotations

from livepledge.live.room import CLOSE, Client


def test_ticks_are_skipped_when_the_queue_is_full() -> None:
    client = Client("u:1", 1, queue_size=4)
    for n in range(10):
        client.offer(b"tick%d" % n, critical=False)

    assert client.queue.qsize() == 4
    assert client.skipped == 6
    assert not client.dropped


def test_a_critical_message_that_does_not_fit_drops_the_client() -> None:
    client = Client("u:1", 1, queue_size=4)
    for n in range(4):
        client.offer(b"tick%d" % n, critical=False)

    client.offer(b"stock", critical=True)
    client.offer(b"more", critical=True)

    assert client.dropped
    assert client.queue.qsize() == 1
    assert client.queue.get_nowait() is CLOSE


def test_critical_messages_are_kept_in_order_while_there_is_room() -> None:
    client = Client("u:1", 1, queue_size=4)
    client.offer(b"a", critical=True)
    client.offer(b"t", critical=False)
    client.offer(b"b", critical=True)

    assert [client.queue.get_nowait() for _ in range(3)] == [b"a", b"t", b"b"]
