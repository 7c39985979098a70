"""The structure from the command line, as an operator runs it (settings from the environment): a realistic
street's grid file imported in seconds (the figure is printed), then whose grid a building was in before and after a
move, a ladder version with a category's deadline, and the street's list of communities."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from yishi.bench.street import street_csv
from yishi.cli import cli
from yishi.settings import get_settings


@pytest.fixture
def invoke(database_url, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setenv("YISHI_DATABASE_URL", database_url)
    get_settings.cache_clear()

    async def run(*args: str) -> tuple[int, str]:
        result = await asyncio.to_thread(CliRunner().invoke, cli, list(args))
        return result.exit_code, result.stdout if result.exit_code == 0 else result.output

    yield run
    get_settings.cache_clear()


async def test_a_realistic_street_imports_in_seconds(invoke, tmp_path, pool) -> None:
    street = f"S{uuid.uuid4().hex[:4].upper()}"
    path = tmp_path / "street.csv"
    path.write_bytes(street_csv(street, communities=12, grids=20, buildings=10))
    started = time.perf_counter()
    code, out = await invoke("grid", "import", str(path), "--street", street, "--by", "李主任", "--as", "street_office",
                             "--json")
    seconds = time.perf_counter() - started
    assert code == 0, out
    doc = json.loads(out)
    assert (doc["communities"], doc["grids"], doc["buildings"]) == (12, 240, 2400)
    print(f"\ngrid import: {doc['rows']} rows, 12 communities, 240 grids, 2,400 buildings, {doc['events']} events "
          f"in {seconds:.2f} s (service {doc['seconds']} s)")
    assert seconds < 30, "in seconds, not minutes"
    community = f"{street.lower()}01"
    async with pool.acquire() as conn:
        stream = await conn.fetchrow("SELECT count(*) AS n, min(payload->>'by') AS by FROM events"
                                     " WHERE stream_id = $1", f"structure-{community}")
    assert stream["n"] == doc["by_community"][community] and stream["by"] == "cli street_office 李主任"
    code, out = await invoke("grid", "street", street)
    assert code == 0 and len(out.strip().splitlines()) == 12
    again = await invoke("grid", "import", str(path), "--street", street, "--json")
    assert json.loads(again[1])["events"] == 0, "the same file again records nothing"


async def test_whose_grid_before_and_after_a_move_and_the_ladder(invoke, tmp_path) -> None:
    street = f"T{uuid.uuid4().hex[:4].upper()}"
    path = tmp_path / "street.csv"
    path.write_bytes(street_csv(street, communities=1, grids=2, buildings=3))
    assert (await invoke("grid", "import", str(path), "--street", street))[0] == 0
    community = f"{street.lower()}01"
    code, out = await invoke("grid", "show", community, "--building", "2")
    assert (code, out.strip()) == (0, f"{street}-01-01")
    between = datetime.now(UTC).isoformat()  # after the import, before the move
    assert (await invoke("grid", "assign", community, "--building", "2", "--grid", f"{street}-01-02"))[0] == 0
    assert (await invoke("grid", "show", community, "--building", "2"))[1].strip() == f"{street}-01-02"
    code, out = await invoke("grid", "show", community, "--building", "2", "--at", between, "--json")
    assert code == 0 and json.loads(out)["grid"] == f"{street}-01-01", "as it was before the move"
    bad = await invoke("grid", "assign", community, "--building", "2", "--grid", "NOPE-1")
    assert bad[0] == 2 and "NOPE-1" in bad[1]
    code, out = await invoke("ladder", "set", community, "--deadline", "housing:street=PT4H/3wd")
    assert code == 0, out
    code, out = await invoke("ladder", "show", community, "--json")
    doc = json.loads(out)
    assert doc["version"] == 1 and doc["deadlines"]["housing"]["street"] == {"ack": "PT4H", "resolve": "3wd"}
    bad = await invoke("ladder", "set", community, "--deadline", "housing:street=soon/3wd")
    assert bad[0] == 2 and "soon" in bad[1]
    code, out = await invoke("grid", "show", community, "--json")
    grids = {g["code"]: g for g in json.loads(out)["grids"]}
    assert "2" in grids[f"{street}-01-02"]["buildings"] and grids[f"{street}-01-01"]["party"]
