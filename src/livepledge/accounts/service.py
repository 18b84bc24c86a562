"""Accounts: registration, login, tokens, shop membership, and who may touch what."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from livepledge.accounts import rules
from livepledge.accounts.guard import LoginGuard
from livepledge.accounts.models import addresses, api_tokens, shop_members, shops, users
from livepledge.accounts.principal import Principal, TokenCache
from livepledge.infra.db import Database, UnitOfWork, row_dict
from livepledge.infra.problems import Problem
from livepledge.infra.security import hash_password, new_token, token_digest, verify_password

WEB_SESSION_DAYS = 14


def access_shop(principal: Principal, shop_id: int) -> None:
    """Raise unless the principal is owner or staff of the shop."""
    if not principal.can_manage(shop_id):
        raise Problem("forbidden", f"你不是店铺 {shop_id} 的成员 / not staff of shop {shop_id}")


def check_registration(login: str, password: str, display_name: str, role: str) -> None:
    for error in (rules.login_error(login),
                  rules.password_error(password, login=login, display_name=display_name)):
        if error:
            raise Problem("validation_failed", error)
    if role not in rules.ROLES:
        raise Problem("validation_failed", f"未知角色 / unknown role: {role}")
    if not 1 <= len(display_name.strip()) <= 32:
        raise Problem("validation_failed", "昵称须为 1–32 个字符 / display name must be 1-32 chars")


async def do_register(
    uow: UnitOfWork, *, login: str, password: str, display_name: str, role: str, now: datetime
) -> int:
    try:
        result = await uow.conn.execute(
            insert(users).values(
                login=login, display_name=display_name.strip(),
                password_hash=hash_password(password), role=role, created_at=now,
            ).returning(users.c.id)
        )
    except IntegrityError as exc:
        raise Problem("login_taken", f"用户名已被占用 / login already taken: {login}") from exc
    return int(result.scalar_one())


async def register(
    db: Database, *, login: str, password: str, display_name: str, role: str, now: datetime
) -> int:
    check_registration(login, password, display_name, role)
    async with db.write() as uow:
        return await do_register(
            uow, login=login, password=password, display_name=display_name, role=role, now=now
        )


async def check_login(conn: AsyncConnection, login: str, password: str) -> int:
    row = (
        await conn.execute(select(users.c.id, users.c.password_hash).where(users.c.login == login))
    ).first()
    if not verify_password(row.password_hash if row else None, password) or row is None:
        raise Problem("invalid_credentials", "用户名或密码错误 / invalid login or password")
    return int(row.id)


async def login(db: Database, guard: LoginGuard, *, login: str, password: str,
                address: str) -> int:
    """A throttled login (accounts/guard.py): 429 once the account or address has failed too
    often, before the password is even checked."""
    await guard.check_login(login, address)
    async with db.read() as conn:
        try:
            return await check_login(conn, login, password)
        except Problem:
            await guard.login_failed(login, address)
            raise


async def guarded_register(
    db: Database, guard: LoginGuard, *, login: str, password: str, display_name: str, role: str,
    address: str, now: datetime,
) -> int:
    await guard.check_registration(address)
    return await register(db, login=login, password=password, display_name=display_name,
                          role=role, now=now)


async def do_issue_token(uow: UnitOfWork, user_id: int, *, kind: str, now: datetime) -> str:
    token = new_token("lpw" if kind == "web" else "lpt")
    expires = now + timedelta(days=WEB_SESSION_DAYS) if kind == "web" else None
    await uow.conn.execute(
        insert(api_tokens).values(
            user_id=user_id, digest=token_digest(token), kind=kind, created_at=now,
            expires_at=expires,
        )
    )
    return token


async def do_revoke_token(uow: UnitOfWork, token: str, now: datetime) -> None:
    await uow.conn.execute(
        update(api_tokens).where(api_tokens.c.digest == token_digest(token)).values(revoked_at=now)
    )


async def load_principal(conn: AsyncConnection, user_id: int) -> Principal | None:
    row = (await conn.execute(select(users).where(users.c.id == user_id))).first()
    if row is None:
        return None
    memberships = await conn.execute(
        select(shop_members.c.shop_id, shop_members.c.role).where(shop_members.c.user_id == user_id)
    )
    return Principal(
        user_id=row.id, login=row.login, display_name=row.display_name, role=row.role,
        shop_roles={int(m.shop_id): m.role for m in memberships},
    )


async def authenticate(
    db: Database, cache: TokenCache, token: str, *, kind: str | None, now: datetime
) -> Principal | None:
    digest = token_digest(token)
    cached = cache.get(digest)
    if cached is not None:
        return cached
    shared, stamp = await cache.lookup(digest)
    if shared is not None:
        return shared
    async with db.read() as conn:
        query = (select(api_tokens.c.expires_at, api_tokens.c.kind, users.c.id, users.c.login,
                        users.c.display_name, users.c.role)
                 .join(users, users.c.id == api_tokens.c.user_id)
                 .where(api_tokens.c.digest == digest, api_tokens.c.revoked_at.is_(None)))
        row = (await conn.execute(query)).first()
        if row is None or (kind and row.kind != kind):
            return None
        if row.expires_at is not None and row.expires_at <= now:
            return None
        shop_roles: dict[int, str] = {}
        if row.role != "buyer":  # buyers belong to no shop: one query is enough
            memberships = await conn.execute(
                select(shop_members.c.shop_id, shop_members.c.role)
                .where(shop_members.c.user_id == row.id))
            shop_roles = {int(m.shop_id): m.role for m in memberships}
        principal = Principal(user_id=row.id, login=row.login, display_name=row.display_name,
                              role=row.role, shop_roles=shop_roles)
    if principal is not None:
        await cache.put(digest, principal, stamp)
    return principal


async def create_shop(
    db: Database, principal: Principal, *, name: str, legal_name: str, license_no: str,
    now: datetime,
) -> int:
    if principal.role != "merchant":
        raise Problem("wrong_role", "只有商家可以开店 / only merchants can open a shop")
    for label, value, limit in (("name", name, 100), ("legal_name", legal_name, 200),
                                ("license_no", license_no, 64)):
        if not 1 <= len(value.strip()) <= limit:
            raise Problem("validation_failed", f"{label} 须为 1–{limit} 个字符 / {label} length")
    async with db.write() as uow:
        result = await uow.conn.execute(
            insert(shops).values(name=name.strip(), legal_name=legal_name.strip(),
                                 license_no=license_no.strip(), created_at=now)
            .returning(shops.c.id)
        )
        shop_id = int(result.scalar_one())
        await uow.conn.execute(
            insert(shop_members).values(shop_id=shop_id, user_id=principal.user_id, role="owner",
                                        created_at=now)
        )
    return shop_id


async def add_member(
    db: Database, principal: Principal, shop_id: int, *, login: str, role: str, now: datetime
) -> int:
    if principal.shop_roles.get(shop_id) != "owner":
        raise Problem("forbidden", "只有店主可以添加成员 / only the owner adds members")
    if role not in rules.SHOP_ROLES - {"owner"}:
        raise Problem("validation_failed", f"未知成员角色 / unknown member role: {role}")
    async with db.write() as uow:
        user = (await uow.conn.execute(select(users.c.id, users.c.role)
                                       .where(users.c.login == login))).first()
        if user is None:
            raise Problem("not_found", f"没有这个用户 / no such user: {login}")
        if role == "anchor" and user.role != "anchor":
            raise Problem("wrong_role", "该用户不是主播 / that user is not an anchor")
        existing = (await uow.conn.execute(select(shop_members.c.role).where(
            shop_members.c.shop_id == shop_id, shop_members.c.user_id == user.id))).first()
        if existing is None:
            await uow.conn.execute(insert(shop_members).values(
                shop_id=shop_id, user_id=user.id, role=role, created_at=now))
        return int(user.id)


async def get_shop(conn: AsyncConnection, shop_id: int) -> dict[str, object]:
    row = (await conn.execute(select(shops).where(shops.c.id == shop_id))).first()
    if row is None:
        raise Problem("not_found", f"店铺不存在 / no such shop: {shop_id}")
    return row_dict(row)


async def list_members(db: Database, principal: Principal, shop_id: int) -> list[dict[str, Any]]:
    if not principal.is_member(shop_id):
        raise Problem("forbidden", f"你不是店铺 {shop_id} 的成员 / not a member of shop {shop_id}")
    async with db.read() as conn:
        rows = await conn.execute(
            select(shop_members.c.user_id, shop_members.c.role, users.c.login,
                   users.c.display_name)
            .join(users, users.c.id == shop_members.c.user_id)
            .where(shop_members.c.shop_id == shop_id).order_by(shop_members.c.user_id))
        return [row_dict(r) for r in rows]



# --- shipping addresses ------------------------------------------------------------------------

ADDRESS_FIELDS = ("recipient", "phone", "province", "city", "district", "detail")


def check_address(fields: dict[str, str]) -> dict[str, str]:
    """Validated, trimmed fields; 422 naming every wrong field."""
    errors = rules.address_errors(fields)
    if errors:
        names = ", ".join(e["field"] for e in errors)
        raise Problem("validation_failed", f"地址不完整或有误 / invalid address fields: {names}",
                      errors=errors)
    clean = {name: fields[name].strip() for name in ADDRESS_FIELDS}
    clean["phone"] = rules.normalize_phone(clean["phone"])
    return clean


def address_view(row: Any) -> dict[str, Any]:
    return {"id": row.id, **{name: getattr(row, name) for name in ADDRESS_FIELDS},
            "is_default": bool(row.is_default), "created_at": row.created_at}


async def access_address(conn: AsyncConnection, principal: Principal, address_id: int) -> Any:
    row = (await conn.execute(select(addresses).where(
        addresses.c.id == address_id, addresses.c.user_id == principal.user_id,
        addresses.c.archived_at.is_(None)))).first()
    if row is None:
        raise Problem("not_found", f"地址不存在 / no such address: {address_id}")
    return row


async def list_addresses(db: Database, principal: Principal) -> list[dict[str, Any]]:
    async with db.read() as conn:
        rows = await conn.execute(select(addresses).where(
            addresses.c.user_id == principal.user_id, addresses.c.archived_at.is_(None))
            .order_by(addresses.c.is_default.desc(), addresses.c.id.desc()))
        return [address_view(r) for r in rows]


async def _make_default(uow: UnitOfWork, user_id: int, address_id: int) -> None:
    await uow.conn.execute(update(addresses).where(
        addresses.c.user_id == user_id, addresses.c.is_default.is_(True),
        addresses.c.id != address_id).values(is_default=False))
    try:
        await uow.conn.execute(update(addresses).where(addresses.c.id == address_id)
                               .values(is_default=True))
    except IntegrityError as exc:  # another request chose a default at the same moment
        raise Problem("invalid_transition",
                      "默认地址刚被修改，请刷新 / the default just changed; reload") from exc


async def add_address(db: Database, principal: Principal, fields: dict[str, str], *,
                      make_default: bool, now: datetime) -> dict[str, Any]:
    clean = check_address(fields)
    async with db.write() as uow:
        count = (await uow.conn.execute(select(func.count()).select_from(addresses).where(
            addresses.c.user_id == principal.user_id,
            addresses.c.archived_at.is_(None)))).scalar_one()
        if count >= rules.MAX_ADDRESSES:
            raise Problem("validation_failed", f"最多保存 {rules.MAX_ADDRESSES} 个地址 / at most "
                          f"{rules.MAX_ADDRESSES} addresses; remove one first")
        result = await uow.conn.execute(insert(addresses).values(
            user_id=principal.user_id, is_default=False, created_at=now, **clean)
            .returning(addresses.c.id))
        address_id = int(result.scalar_one())
        if make_default or count == 0:  # the first address is the default
            await _make_default(uow, principal.user_id, address_id)
        return address_view(await access_address(uow.conn, principal, address_id))


async def update_address(db: Database, principal: Principal, address_id: int,
                         fields: dict[str, str], *, make_default: bool) -> dict[str, Any]:
    """Edits the address book only: orders keep the copy they took."""
    clean = check_address(fields)
    async with db.write() as uow:
        await access_address(uow.conn, principal, address_id)
        await uow.conn.execute(update(addresses).where(addresses.c.id == address_id)
                               .values(**clean))
        if make_default:
            await _make_default(uow, principal.user_id, address_id)
        return address_view(await access_address(uow.conn, principal, address_id))


async def set_default_address(db: Database, principal: Principal,
                              address_id: int) -> dict[str, Any]:
    async with db.write() as uow:
        await access_address(uow.conn, principal, address_id)
        await _make_default(uow, principal.user_id, address_id)
        return address_view(await access_address(uow.conn, principal, address_id))


async def remove_address(db: Database, principal: Principal, address_id: int, *,
                         now: datetime) -> None:
    """Archived, not deleted; if it was the default, the newest other address becomes it."""
    async with db.write() as uow:
        row = await access_address(uow.conn, principal, address_id)
        await uow.conn.execute(update(addresses).where(addresses.c.id == address_id)
                               .values(archived_at=now, is_default=False))
        if row.is_default:
            newest = (await uow.conn.execute(select(addresses.c.id).where(
                addresses.c.user_id == principal.user_id, addresses.c.archived_at.is_(None))
                .order_by(addresses.c.id.desc()).limit(1))).scalar_one_or_none()
            if newest is not None:
                await _make_default(uow, principal.user_id, newest)


async def address_copy(conn: AsyncConnection, principal: Principal,
                       address_id: int | None) -> dict[str, str]:
    """The copy an order keeps: the chosen address, or the buyer's default."""
    if address_id is not None:
        row = await access_address(conn, principal, address_id)
    else:
        row = (await conn.execute(select(addresses).where(
            addresses.c.user_id == principal.user_id, addresses.c.is_default.is_(True),
            addresses.c.archived_at.is_(None)))).first()
        if row is None:
            raise Problem("address_required",
                          "请先添加收货地址 / add a shipping address first")
    return {name: getattr(row, name) for name in ADDRESS_FIELDS}


async def cooling_off_minutes(conn: AsyncConnection, user_id: int) -> int:
    """The buyer's own cooling-off setting (0: none)."""
    minutes = (await conn.execute(select(users.c.cooling_off_minutes).where(
        users.c.id == user_id))).scalar_one_or_none()
    return int(minutes or 0)


async def set_cooling_off(db: Database, principal: Principal, minutes: int | None) -> int:
    async with db.write() as uow:
        await uow.conn.execute(update(users).where(users.c.id == principal.user_id)
                               .values(cooling_off_minutes=minutes or None))
    return int(minutes or 0)



async def make_operator(db: Database, *, login: str, password: str | None,
                        display_name: str | None, now: datetime) -> tuple[int, bool]:
    """Make `login` a platform operator: an existing account is given the role (its password
    unchanged), a new one is created with `password`. Returns (user id, created)."""
    async with db.write() as uow:
        row = (await uow.conn.execute(select(users.c.id).where(users.c.login == login))).first()
        if row is not None:
            await uow.conn.execute(update(users).where(users.c.id == row.id)
                                   .values(role=rules.OPERATOR))
            return int(row.id), False
        if password is None:
            raise Problem("validation_failed", f"新账号需要密码 / a new account needs a password: "
                                               f"{login}")
        name = display_name or "平台客服"
        check_registration(login, password, name, "buyer")
        user_id = await do_register(uow, login=login, password=password, display_name=name,
                                    role=rules.OPERATOR, now=now)
        return user_id, True


async def remove_operator(db: Database, *, login: str) -> bool:
    """The account is a buyer again (its decisions stay on the record)."""
    async with db.write() as uow:
        result = await uow.conn.execute(update(users).where(
            users.c.login == login, users.c.role == rules.OPERATOR).values(role="buyer"))
        return bool(result.rowcount == 1)


async def list_operators(db: Database) -> list[dict[str, Any]]:
    async with db.read() as conn:
        rows = await conn.execute(select(users.c.id, users.c.login, users.c.display_name)
                                  .where(users.c.role == rules.OPERATOR).order_by(users.c.id))
        return [dict(r._mapping) for r in rows]


async def find_partner(db: Database, principal: Principal, login: str) -> dict[str, Any]:
    """An anchor or MCN agency account by login, for a shop's staff (nobody else: logins of
    buyers are not looked up)."""
    if not any(principal.can_manage(shop_id) for shop_id in principal.shop_roles):
        raise Problem("forbidden", "只有店铺员工可以查找合作方 / only shop staff look partners up")
    async with db.read() as conn:
        row = (await conn.execute(select(users.c.id, users.c.login, users.c.display_name,
                                         users.c.role).where(users.c.login == login))).first()
    if row is None or row.role not in ("anchor", "agency"):
        raise Problem("not_found", f"没有该主播或MCN机构 / no anchor or agency: {login}")
    return {"id": int(row.id), "login": row.login, "display_name": row.display_name,
            "role": row.role}
