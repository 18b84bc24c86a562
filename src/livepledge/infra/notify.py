"""Announcements after commit: live-room messages, merchant-console messages, cache invalidation.

Channels: `room:{session_id}` (viewers), `shop:{shop_id}` (merchant console), `lp:items`
(lineup items whose cached sale facts changed)."""

from __future__ import annotations

from typing import Any

import orjson

from livepledge.infra.broker import Broker

ITEMS_CHANNEL = "lp:items"


def room_channel(session_id: int) -> str:
    return f"room:{session_id}"


def shop_channel(shop_id: int) -> str:
    return f"shop:{shop_id}"


class Notifier:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    async def room(self, session_id: int, message: dict[str, Any]) -> None:
        await self.broker.publish(room_channel(session_id), orjson.dumps(message))

    async def shop(self, shop_id: int, message: dict[str, Any]) -> None:
        await self.broker.publish(shop_channel(shop_id), orjson.dumps(message))

    async def many(self, messages: list[tuple[str, dict[str, Any]]]) -> None:
        """Several announcements, in order, in one go: (channel, message) pairs, channels from
        `room_channel` and `shop_channel`."""
        await self.broker.publish_many([(channel, orjson.dumps(message))
                                        for channel, message in messages])

    async def items_changed(self, item_ids: list[int]) -> None:
        await self.broker.publish(ITEMS_CHANNEL, orjson.dumps({"item_ids": item_ids}))
