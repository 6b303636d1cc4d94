"""PostgreSQL through asyncpg: connecting with a clear error, and SQL migrations.

Migrations are the files ``venue/migrations/NNN_name.sql``, applied in order, each in its
own transaction, recorded in ``schema_migrations``; an advisory lock makes concurrent
``venue migrate`` runs safe.
"""

from __future__ import annotations

from importlib import resources

import asyncpg

MIGRATION_LOCK = 0x56454E5545  # "VENUE"


class DatabaseUnavailable(ConnectionError):
    pass


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}@{host}"
    return url


async def connect(url: str, timeout_s: float = 5.0) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(url, timeout=timeout_s)
    except Exception as exc:
        raise DatabaseUnavailable(
            f"cannot reach PostgreSQL at {_redact(url)} ({exc.__class__.__name__}: {exc}): "
            "start it, or unset VENUE_DATABASE_URL / database.url to use the embedded server"
        ) from None


async def keep_session(conn: asyncpg.Connection) -> None:
    """A pool ``reset`` for code that leaves no session state behind (no SET, LISTEN,
    cursors or advisory locks): asyncpg's default runs ``RESET ALL; UNLISTEN *; ...`` on
    every release, one more round trip to PostgreSQL for each use of a pooled connection
    (an open transaction is still rolled back either way)."""


async def create_pool(url: str, min_size: int = 1, max_size: int = 8, timeout_s: float = 5.0) -> asyncpg.Pool:
    try:
        pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, timeout=timeout_s)
    except Exception as exc:
        raise DatabaseUnavailable(
            f"cannot reach PostgreSQL at {_redact(url)} ({exc.__class__.__name__}: {exc}): "
            "start it, or unset VENUE_DATABASE_URL / database.url to use the embedded server"
        ) from None
    assert pool is not None
    return pool


def migration_files() -> list[tuple[str, str]]:
    folder = resources.files("venue") / "migrations"
    files = sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )
    return files


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply pending migrations; return the names applied now."""
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        for name, sql in migration_files():
            if name in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations(name) VALUES ($1)", name)
            applied_now.append(name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied_now


async def pending_migrations(conn: asyncpg.Connection) -> list[str]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    done = set()
    if exists:
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
    return [name for name, _ in migration_files() if name not in done]
