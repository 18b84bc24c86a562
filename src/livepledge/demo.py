"""Demo data: a shop, an anchor, products, a live session with an open flash sale, buyers.

Buyers are inserted in bulk with one shared argon2 hash (hashing each would take minutes for a
thousand buyers); every demo buyer has the same password, printed by `livepledge demo`."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select

from livepledge.accounts import service as accounts
from livepledge.accounts.models import addresses, api_tokens, users
from livepledge.catalog import service as catalog
from livepledge.infra.broker import InProcessBroker
from livepledge.infra.clock import utcnow
from livepledge.infra.db import Database
from livepledge.infra.notify import Notifier
from livepledge.infra.security import hash_password, new_token, token_digest
from livepledge.live import service as live

BUYER_PASSWORD = "buyer-demo-pass"
MERCHANT_PASSWORD = "merchant-demo-pass"
ANCHOR_PASSWORD = "anchor-demo-pass"


@dataclass
class DemoScenario:
    shop_id: int
    session_id: int
    item_id: int
    merchant_login: str
    anchor_login: str
    buyer_logins: list[str]
    merchant_token: str
    buyer_tokens: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"shop_id": self.shop_id, "session_id": self.session_id, "item_id": self.item_id,
                "merchant_token": self.merchant_token, "buyer_tokens": self.buyer_tokens}


async def _user(db: Database, login: str, password: str, name: str, role: str) -> int:
    async with db.read() as conn:
        found = (await conn.execute(select(users.c.id).where(users.c.login == login))).first()
    if found:
        return int(found.id)
    return await accounts.register(db, login=login, password=password, display_name=name,
                                   role=role, now=utcnow())


async def seed(db: Database, *, buyers: int, stock: int, prefix: str | None = None,
               per_buyer_limit: int = 1, playback_url: str | None = None) -> DemoScenario:
    now = utcnow()
    prefix = prefix if prefix is not None else f"d{secrets.token_hex(3)}-"
    notifier = Notifier(InProcessBroker())
    merchant_login, anchor_login = f"{prefix}merchant", f"{prefix}anchor"
    merchant_id = await _user(db, merchant_login, MERCHANT_PASSWORD, "星河优选运营", "merchant")
    anchor_id = await _user(db, anchor_login, ANCHOR_PASSWORD, "主播小楠", "anchor")
    async with db.read() as conn:
        merchant = await accounts.load_principal(conn, merchant_id)
    assert merchant is not None
    shop_id = next((s for s, r in merchant.shop_roles.items() if r == "owner"), None)
    if shop_id is None:
        shop_id = await accounts.create_shop(
            db, merchant, name="星河优选旗舰店", legal_name="杭州星河优选电子商务有限公司",
            license_no="91330100MA2DEMO01X", now=now)
        async with db.read() as conn:
            merchant = await accounts.load_principal(conn, merchant_id)
        assert merchant is not None
        await accounts.add_member(db, merchant, shop_id, login=anchor_login, role="anchor",
                                  now=now)
    product_id = await catalog.create_product(
        db, merchant, shop_id, title="云南古树红茶 250g 礼盒", category="food",
        description="2025 年春茶，产地云南临沧，SC 许可证号见包装。",
        new_skus=[catalog.NewSku("250g 礼盒", 12900, stock + 200)], now=now)
    second_id = await catalog.create_product(
        db, merchant, shop_id, title="纯棉短袖 T 恤", category="apparel",
        description="100% 棉，S–XL。",
        new_skus=[catalog.NewSku("白色 M", 5900, 500), catalog.NewSku("黑色 L", 5900, 500)],
        now=now)
    async with db.read() as conn:
        sku_id = (await catalog.product_view(conn, product_id))["skus"][0]["id"]
        tee_sku = (await catalog.product_view(conn, second_id))["skus"][0]["id"]
    session_id = await live.schedule_session(
        db, merchant, shop_id, title="古树红茶专场 · 整点秒杀", anchor_id=anchor_id,
        scheduled_at=now, playback_url=playback_url, now=now)
    item_id = await live.add_lineup_item(
        db, notifier, merchant, session_id, sku_id=sku_id, live_price=9900,
        stock_allocated=stock, per_buyer_limit=per_buyer_limit,
        sale_starts_at=now - timedelta(minutes=1), sale_ends_at=now + timedelta(hours=6),
        now=now)
    await live.add_lineup_item(
        db, notifier, merchant, session_id, sku_id=tee_sku, live_price=3900,
        stock_allocated=100, per_buyer_limit=2, sale_starts_at=now - timedelta(minutes=1),
        sale_ends_at=now + timedelta(hours=6), now=now)
    await live.start_session(db, notifier, merchant, session_id, now)
    await live.pin_item(db, notifier, merchant, session_id, item_id, now)
    async with db.write() as uow:
        merchant_token = await accounts.do_issue_token(uow, merchant_id, kind="api", now=now)
    logins, tokens = await seed_buyers(db, buyers, prefix=prefix)
    return DemoScenario(shop_id, session_id, item_id, merchant_login, anchor_login, logins,
                        merchant_token, tokens)


async def seed_buyers(db: Database, count: int, *, prefix: str) -> tuple[list[str], list[str]]:
    now = utcnow()
    shared_hash = hash_password(BUYER_PASSWORD)
    logins = [f"{prefix}buyer{i}" for i in range(1, count + 1)]
    tokens = [new_token("lpt") for _ in logins]
    async with db.read() as conn:
        existing = {r.login: r.id for r in await conn.execute(
            select(users.c.login, users.c.id).where(users.c.login.in_(logins)))} if logins else {}
    async with db.write() as uow:
        fresh = [login for login in logins if login not in existing]
        if fresh:
            result = await uow.conn.execute(
                insert(users).returning(users.c.login, users.c.id, sort_by_parameter_order=True),
                [{"login": login, "display_name": f"观众{login.rsplit('buyer', 1)[-1]}",
                  "password_hash": shared_hash, "role": "buyer", "created_at": now}
                 for login in fresh])
            existing.update({r.login: r.id for r in result})
        if fresh:  # every demo buyer ships to a default address
            await uow.conn.execute(insert(addresses), [
                {"user_id": existing[login], "recipient": f"观众{login.rsplit('buyer', 1)[-1]}",
                 "phone": f"138{existing[login] % 100_000_000:08d}", "province": "浙江省",
                 "city": "杭州市", "district": "西湖区", "detail": "文三路 100 号",
                 "is_default": True, "created_at": now} for login in fresh])
        if logins:
            await uow.conn.execute(insert(api_tokens), [
                {"user_id": existing[login], "digest": token_digest(token), "kind": "api",
                 "created_at": now} for login, token in zip(logins, tokens, strict=True)])
    return logins, tokens
