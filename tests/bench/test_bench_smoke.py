"""Smoke runs of ``yishi bench``: tiny sizes, through the CLI with ``--json``, against the session's embedded
PostgreSQL and Temporal. They prove the harness counts what it sends; the figures themselves are not
asserted (docs/benchmarks.md has those, from full-size runs)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from yishi.embedded import EmbeddedPostgres, EmbeddedTemporal

BALLOT_KEYS = ("ballots_per_s", "p50_ms", "p99_ms", "noop_per_s", "naive_commit_per_s", "temporal_update_per_s")


def bench(*args: str, database_url: str, temporal_address: str, timeout: float = 120) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "yishi.cli", "bench", *args, "--json", "--database-url", database_url,
         "--temporal-address", temporal_address],
        capture_output=True, text=True, timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, f"--json must print exactly one JSON object, got:\n{done.stdout}"
    return json.loads(lines[0])


@pytest.fixture
def stack(postgres: EmbeddedPostgres, temporal_server: EmbeddedTemporal) -> dict[str, str]:
    return {"database_url": postgres.url, "temporal_address": temporal_server.address}


def test_ballots_counts_every_ballot_it_sends(stack: dict[str, str]) -> None:
    out = bench("ballots", "--ballots", "200", "--clients", "8", "--rate", "100", "--open-seconds", "1", **stack)
    for key in BALLOT_KEYS:
        assert out[key] > 0, key
    sent = 200 + 100
    assert out["ballots_sent"] == sent
    # Every POST got a receipt, every receipt is distinct, and the stream holds exactly those ballots.
    assert out["receipts"] == out["receipts_distinct"] == out["ballots_in_stream"] == sent
    assert out["statuses"] == {"200": sent}
    assert 1 <= out["commit_groups"] <= sent
    assert {t["name"] for t in out["targets"]} >= {"ballots/s ≥ 1,000", "≥ 50% of noop"}


def test_scale_runs_every_step_and_verifies(stack: dict[str, str]) -> None:
    out = bench("scale", "--owners", "500", "--concurrency", "32", **stack)
    for step in ("roll_import", "open", "links", "ballots", "vacuum", "seal", "tally", "verify"):
        assert out[f"{step}_s"] > 0, step
        assert out[f"{step}_rss_mib"] > 0, step
    assert out["links"] == out["receipts"] == 500
    assert out["verify_ok"] is True, out["verify_failures"]
    assert out["outcome"] == out["recount"]


def test_deliberations_timers_all_fire(stack: dict[str, str]) -> None:
    # A backlog of 3 boxes started but not open makes the starters wait on the boxes at least once.
    out = bench("deliberations", "--count", "10", "--timer", "3", "--wait", "60", "--backlog", "3", **stack)
    assert out["start_per_s"] > 0 and out["worker_rss_mib"] > 0
    assert out["sealed_at_deadline"] == out["result_recorded"] == 10
    assert out["max_waiting"] >= 1
    assert out["start_paused_s"] > 0
    assert 0 < out["all_opened_s"]
    assert all(t["ok"] for t in out["targets"])
