"""Migrations, on SQLite and PostgreSQL: upgrade head -> downgrade base -> upgrade head works, and
the migrated schema is exactly what the models declare (Alembic's autogenerate comparison finds
nothing to change)."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from livepledge.infra.migrate import current_head, downgrade, upgrade
from livepledge.models import metadata


def _inspect(database_url: str, fn: Any) -> Any:
    async def run() -> Any:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(fn)
        finally:
            await engine.dispose()
    return asyncio.run(run())


def schema_differences(database_url: str) -> list[Any]:
    def compare(conn: Any) -> list[Any]:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "compare_server_default": True})
        return list(compare_metadata(context, metadata))
    return _inspect(database_url, compare)  # type: ignore[no-any-return]


def tables(database_url: str) -> set[str]:
    return set(_inspect(database_url, lambda conn: inspect(conn).get_table_names()))


def revision(database_url: str) -> str | None:
    return _inspect(database_url,  # type: ignore[no-any-return]
                    lambda conn: MigrationContext.configure(conn).get_current_revision())


def test_upgrade_downgrade_upgrade_round_trip(database_url):
    model_tables = set(metadata.tables)

    upgrade(database_url)
    assert revision(database_url) == current_head()
    assert tables(database_url) - {"alembic_version"} == model_tables

    downgrade(database_url, "base")
    assert revision(database_url) is None
    assert tables(database_url) - {"alembic_version"} == set()

    upgrade(database_url)
    assert revision(database_url) == current_head()
    assert tables(database_url) - {"alembic_version"} == model_tables


def test_migrated_schema_equals_the_models(database_url):
    upgrade(database_url)

    assert schema_differences(database_url) == []
