"""One contract for both brokers: InProcessBroker (embedded) and RedisBroker (scale-out).

Delivery through Redis is asynchronous, so each test waits (with a deadline) for a sentinel
published after the messages under test: once the sentinel has arrived, everything published
before it on the same connection has been delivered or never will be."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator

import pytest

from livepledge.infra.broker import InProcessBroker, RedisBroker

DEADLINE = 10.0


@pytest.fixture(params=["in_process", "redis"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[object]:
    if request.param == "in_process":
        instance: object = InProcessBroker()
    else:
        instance = RedisBroker(request.getfixturevalue("redis_url"))
    await instance.start()  # type: ignore[attr-defined]
    yield instance
    await instance.close()  # type: ignore[attr-defined]


class Inbox:
    """Collects (channel, message) pairs; `until` waits for a given message to arrive."""

    def __init__(self) -> None:
        self.messages: dict[str, list[bytes]] = defaultdict(list)
        self._arrived = asyncio.Condition()

    async def handler(self, channel: str, message: bytes) -> None:
        async with self._arrived:
            self.messages[channel].append(message)
            self._arrived.notify_all()

    async def until(self, channel: str, message: bytes) -> None:
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(
                lambda: message in self.messages[channel]), DEADLINE)


async def test_publish_many_delivers_in_order_like_single_publishes(broker):
    inbox = Inbox()
    await broker.subscribe("room:1", inbox.handler)
    await broker.subscribe("shop:1", inbox.handler)

    await broker.publish("room:1", b"before")
    await broker.publish_many([("room:1", b"stock"), *[("shop:1", b"%d" % n) for n in range(50)],
                               ("room:1", b"end")])
    await broker.publish_many([])  # nothing to say: nothing sent
    await broker.publish("shop:1", b"end")
    await inbox.until("room:1", b"end")
    await inbox.until("shop:1", b"end")

    assert inbox.messages["room:1"] == [b"before", b"stock", b"end"]
    assert inbox.messages["shop:1"] == [b"%d" % n for n in range(50)] + [b"end"]


async def test_messages_arrive_in_publish_order_per_channel(broker):
    inbox = Inbox()
    await broker.subscribe("room:1", inbox.handler)
    await broker.subscribe("room:2", inbox.handler)

    for n in range(200):
        await broker.publish(f"room:{1 + n % 2}", b"%d" % n)
    await broker.publish("room:1", b"end")
    await broker.publish("room:2", b"end")
    await inbox.until("room:1", b"end")
    await inbox.until("room:2", b"end")

    assert inbox.messages["room:1"] == [b"%d" % n for n in range(0, 200, 2)] + [b"end"]
    assert inbox.messages["room:2"] == [b"%d" % n for n in range(1, 200, 2)] + [b"end"]


async def test_concurrent_publishers_keep_each_publishers_order(broker):
    inbox = Inbox()
    await broker.subscribe("room:1", inbox.handler)

    async def publisher(name: bytes) -> None:
        for n in range(50):
            await broker.publish("room:1", name + b"%d" % n)

    await asyncio.gather(publisher(b"a"), publisher(b"b"))
    await broker.publish("room:1", b"end")
    await inbox.until("room:1", b"end")

    received = inbox.messages["room:1"]
    assert len(received) == 101
    for name in (b"a", b"b"):
        assert [m for m in received if m.startswith(name)] == [name + b"%d" % n
                                                               for n in range(50)]


async def test_every_subscriber_of_a_channel_gets_each_message(broker):
    first, second = Inbox(), Inbox()
    await broker.subscribe("room:1", first.handler)
    await broker.subscribe("room:1", second.handler)

    await broker.publish("room:1", b"hello")
    await first.until("room:1", b"hello")
    await second.until("room:1", b"hello")

    assert first.messages["room:1"] == [b"hello"]
    assert second.messages["room:1"] == [b"hello"]


async def test_a_message_published_right_after_subscribe_is_delivered(broker):
    # the live room subscribes first, then takes its snapshot: nothing in between may be lost
    inbox = Inbox()
    for n in range(50):
        await broker.subscribe(f"room:{n}", inbox.handler)
        await broker.publish(f"room:{n}", b"first")
    for n in range(50):
        await inbox.until(f"room:{n}", b"first")
        assert inbox.messages[f"room:{n}"] == [b"first"]


async def test_unsubscribe_stops_delivery_and_leaves_other_subscribers(broker):
    leaving, staying, witness = Inbox(), Inbox(), Inbox()
    await broker.subscribe("room:1", leaving.handler)
    await broker.subscribe("room:1", staying.handler)
    await broker.subscribe("room:2", witness.handler)
    await broker.publish("room:1", b"before")
    await leaving.until("room:1", b"before")

    await broker.unsubscribe("room:1", leaving.handler)
    await broker.publish("room:1", b"after")
    await broker.publish("room:2", b"sentinel")
    await staying.until("room:1", b"after")
    await witness.until("room:2", b"sentinel")

    assert leaving.messages["room:1"] == [b"before"]
    assert staying.messages["room:1"] == [b"before", b"after"]


async def test_after_the_last_unsubscribe_the_channel_is_silent(broker):
    inbox, witness = Inbox(), Inbox()
    await broker.subscribe("room:1", inbox.handler)
    await broker.subscribe("room:2", witness.handler)

    await broker.unsubscribe("room:1", inbox.handler)
    await broker.publish("room:1", b"nobody")
    await broker.publish("room:2", b"sentinel")
    await witness.until("room:2", b"sentinel")

    assert inbox.messages["room:1"] == []


async def test_a_failing_handler_does_not_stop_delivery_to_others(broker):
    inbox = Inbox()

    async def failing(_channel: str, _message: bytes) -> None:
        raise RuntimeError("boom")

    await broker.subscribe("room:1", failing)
    await broker.subscribe("room:1", inbox.handler)

    try:
        await broker.publish("room:1", b"one")
    except RuntimeError:
        pytest.fail("a subscriber's error reached the publisher")
    await broker.publish("room:1", b"two")
    await inbox.until("room:1", b"two")

    assert inbox.messages["room:1"] == [b"one", b"two"]
