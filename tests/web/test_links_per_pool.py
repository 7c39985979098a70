"""The live-link cache is per pool: a process talking to two databases (two installations, a restore being
checked beside the live one) never takes a token found live in one database as live in the other."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from activities.db import create_pool, migrate
from activities.eventstore import EventStore
from tests.web.conftest import give_links
from yishi.services.links import UnknownLinkError, resolve_link

SECRET = "test-secret-key-for-web-tests-0123456789"


@pytest.fixture
async def other_pool(postgres) -> AsyncIterator[asyncpg.Pool]:  # type: ignore[no-untyped-def]
    """A pool on a second, freshly migrated database of the session's PostgreSQL server."""
    name = f"yishi_second_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres.url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = postgres.url.rsplit("/", 1)[0] + f"/{name}"
        await migrate(url)
        pool = await create_pool(url, max_size=2)
        try:
            yield pool
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.close()


async def test_a_token_live_in_one_database_is_not_trusted_from_the_cache_for_another(pool, other_pool) -> None:
    deliberation_id = f"pools-{uuid.uuid4().hex[:8]}"
    link = (await give_links(EventStore(pool), deliberation_id, ["o1"], secret_key=SECRET))[0]
    holder = await resolve_link(pool, link.token)  # found live in A: this process caches it
    assert (holder.deliberation_id, holder.owner_id) == (deliberation_id, "o1")
    with pytest.raises(UnknownLinkError):  # B has no such link: asked, not answered from A's cache
        await resolve_link(other_pool, link.token, cached=True)
    assert await resolve_link(pool, link.token, cached=True) == holder  # A's cache still serves A

    # The same deliberation and owner issued in B get B's own token; neither database's token opens the other.
    other = (await give_links(EventStore(other_pool), deliberation_id, ["o1"], secret_key=SECRET))[0]
    assert other.token != link.token
    assert (await resolve_link(other_pool, other.token, cached=True)).token_hash != holder.token_hash
    with pytest.raises(UnknownLinkError):
        await resolve_link(pool, other.token, cached=True)
