"""Smoke run of ``yishi bench tickets`` (issue 19): a small read side and a few real ticket workflows, through the
CLI with ``--json``, in a database of its own on the session's PostgreSQL (the seeded tickets must not show in other
tests' inboxes) and on the session's Temporal dev server. It proves the harness runs every step and closes every
real ticket; the figures themselves are in docs/benchmarks.md (full-size runs)."""

from __future__ import annotations

import uuid

import asyncpg

from tests.bench.test_bench_smoke import bench
from yishi.embedded import EmbeddedPostgres, EmbeddedTemporal


async def test_tickets_bench_runs_every_step(postgres: EmbeddedPostgres, temporal_server: EmbeddedTemporal) -> None:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres.url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = postgres.url.rsplit("/", 1)[0] + f"/{name}"
    import asyncio

    out = await asyncio.to_thread(bench, "tickets", "--seeded", "3000", "--workflows", "24", "--concurrency", "8",
                                  "--samples", "3", database_url=url, temporal_address=temporal_server.address,
                                  timeout=280)
    assert out["tickets"] == 3000 + 24 and out["closed_real"] == 24
    assert out["turns"] > out["tickets"]
    for key in ("inbox_grid_p95_ms", "inbox_department_p95_ms", "appraisal_worker_own_half_p95_ms",
                "appraisal_grid_half_street_p95_ms"):
        assert out[key] > 0, key
    assert {t["name"] for t in out["targets"]} == {"appraisal and inbox p95 < 1 s", "every real ticket closed"}
    assert next(t for t in out["targets"] if t["name"] == "every real ticket closed")["ok"]
