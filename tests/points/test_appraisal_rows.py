"""The ``appraisals`` read model follows each appraisal's stream: written at the opening, each rating, the close and
the recorded result (same figures as the stream), found by community and by street without reading every event,
and rebuilt from the streams the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from activities.eventstore import EventStore
from tests.points.appraisal_setup import BAD, close, open_and_link, quarter, scores, street_register
from tests.workflows.conftest import running_worker
from yishi.services import appraisals
from yishi.services.appraisal_rows import community_rows, rebuild_appraisals, street_rows

MIGRATION = Path(__file__).parents[2] / "activities" / "migrations" / "100_appraisals.sql"
SHOWN = ("status", "raters", "recorded", "score", "credit_code", "company_name", "estate", "community")


def shown(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[k] for k in SHOWN)


async def test_the_row_follows_the_stream_and_rebuilds_the_same(ts_env: Any, pool: Any, store: EventStore,
                                                                 task_queue: str) -> None:
    env = ts_env
    async with running_worker(env, store, pool, task_queue):
        street = await street_register(store, await env.get_current_time())
        appraisal_id, tokens, opened_at = await open_and_link(env, pool, store, street, task_queue)
        [row] = await street_rows(pool, street)
        assert row["appraisal_id"] == appraisal_id and row["period"] == quarter(opened_at)
        assert shown(row) == ("open", 0, False, None, BAD, "安居物业", "幸福里", "xfl")
        await appraisals.rate(pool, store, tokens["O311"], scores(2, 3, 1, 2), now=opened_at)
        await appraisals.rate(pool, store, tokens["O321"], scores(3, 3, 2, 2), now=opened_at)
        [row] = await street_rows(pool, street, quarter(opened_at))
        assert shown(row)[:4] == ("open", 2, False, None)
        await close(env, store, appraisal_id)
        state = await appraisals.appraisal(store, appraisal_id)
        score = state.recorded.result.score  # type: ignore[union-attr]
        [row] = await street_rows(pool, street)
        assert shown(row)[:4] == ("closed", 2, True, f"{score.numerator}/{score.denominator}")
        assert row["last_seq"] == (await store.head(appraisal_id))[0]
        assert appraisal_id in [r["appraisal_id"] for r in await community_rows(pool, "xfl", 500)]
        assert await street_rows(pool, street, "1999Q1") == []

        before = await street_rows(pool, street)
        assert await rebuild_appraisals(pool) >= 1
        assert await street_rows(pool, street) == before
        backfill = MIGRATION.read_text(encoding="utf-8")
        async with pool.acquire() as conn:  # the migration's backfill, for appraisals opened before the table
            await conn.execute("DELETE FROM appraisals")
            await conn.execute(backfill[backfill.index("INSERT INTO appraisals"):])
        assert await street_rows(pool, street) == before
