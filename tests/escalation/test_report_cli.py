"""`yishi report escalations --json` over the seeded tickets (tests/escalation/seed.py; arithmetic in
test_rates.py), as a person runs it: settings from the environment, one JSON document."""

from __future__ import annotations

import asyncio
import json
import uuid

from click.testing import CliRunner

from tests.escalation.seed import seed
from yishi.cli import cli
from yishi.settings import get_settings


async def test_report_escalations_json(store, pool, database_url, monkeypatch) -> None:
    community = f"cli-{uuid.uuid4().hex[:6]}"
    await seed(store, pool, community)
    monkeypatch.setenv("YISHI_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        args = ["report", "escalations", "--from", "2026-03-01", "--to", "2026-03-31", "--community", community,
                "--as-of", "2026-04-03T12:00:00+08:00", "--json"]
        result = await asyncio.to_thread(CliRunner().invoke, cli, args)
        bad = await asyncio.to_thread(CliRunner().invoke, cli, [*args[:3], "2026-13-01", *args[4:]])
        table = await asyncio.to_thread(CliRunner().invoke, cli, args[:-1])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["total"]["assigned"] == 8
    assert doc["total"]["response_rate"] == {"fraction": "5/7", "percent": "71.4"}
    assert doc["total"]["resolution_rate"]["fraction"] == "3/5"
    assert doc["total"]["satisfaction_rate"]["fraction"] == "3/4"
    assert doc["by_level"]["street"]["response_rate"]["fraction"] == "4/5"
    assert doc["by_org"]["dept:urban"]["satisfaction_rate"] is None
    assert bad.exit_code == 2 and "2026-13-01" in bad.output
    assert table.exit_code == 0 and "响应率" in table.output and "80.0% (4/5)" in table.output
