"""`yishi ladder add-level | remove-level | unset-deadline` (issue 19): the console's ladder edits from the command
line, with the same pure functions (domain/ladder_edits.py), each a new version recorded with the operator's name
and role; a refusal exits 2 with what to do and records nothing; a running ticket keeps its ladder."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from tests.escalation.conftest import ticket_until
from tests.escalation.test_grid_routing import complaint, structured
from tests.workflows.conftest import running_worker
from yishi.cli import cli
from yishi.services.escalations import open_ticket
from yishi.settings import get_settings


@pytest.fixture
def invoke(database_url, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setenv("YISHI_DATABASE_URL", database_url)
    get_settings.cache_clear()

    async def run(*args: str) -> tuple[int, str]:
        result = await asyncio.to_thread(CliRunner().invoke, cli, list(args))
        return result.exit_code, result.stdout if result.exit_code == 0 else result.output + repr(result.exception)

    yield run
    get_settings.cache_clear()


async def _versions(store, community: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [e.payload for e in await store.read(f"structure-{community}") if e.type == "LadderVersioned"]


async def test_levels_and_a_categorys_periods_edited_from_the_cli(invoke, store, pool, ts_env, task_queue) -> None:
    community = await structured(store, pool)
    async with running_worker(ts_env, store, pool, task_queue):
        _, h1 = await open_ticket(ts_env.client, complaint(community, building="1"), task_queue=task_queue)
        one = await ticket_until(h1, lambda t: t.current is not None, "assigned")
        assert [lv.key for lv in one.levels] == ["grid", "community", "street", "department"]

        code, out = await invoke("ladder", "set", community, "--deadline", "housing:street=PT4H/3wd",
                                 "--deadline", "housing:grid=PT1H/1wd")
        assert code == 0, out
        code, out = await invoke("ladder", "remove-level", community, "grid", "--by", "李主任", "--as", "street_office")
        assert code == 0, out
        code, out = await invoke("ladder", "add-level", community, "secretary", "--after", "community", "--ack", "PT8H",
                                 "--by", "李主任", "--as", "street_office")
        assert code == 0, out
        code, out = await invoke("ladder", "unset-deadline", community, "housing:street", "--by", "李主任")
        assert code == 0, out
        versions = await _versions(store, community)
        assert [v["by"] for v in versions[1:]] == ["cli street_office 李主任", "cli street_office 李主任",
                                                   "cli operator 李主任"]
        removed, added, unset = (v["ladder"] for v in versions[1:])
        assert [lv["key"] for lv in removed["levels"]] == ["community", "street", "department"]
        assert removed["deadlines"] == {"housing": {"street": {"ack": "PT4H", "resolve": "3wd"}}}, \
            "the grid's deadline went with the grid"
        secretary = added["levels"][1]
        assert (secretary["key"], secretary["org"], secretary["ack"]) == ("secretary", f"secretary:{community}", "PT8H")
        assert unset["deadlines"] == {}
        code, out = await invoke("ladder", "show", community, "--json")
        assert [lv["key"] for lv in json.loads(out)["levels"]] == ["community", "secretary", "street", "department"]

        refusals = (
            (("add-level", community, "street"), "已有"),
            (("add-level", community, "grid", "--after", "mayor"), "从列表"),
            (("add-level", community, "grid", "--ack", "soon"), "soon"),
            (("remove-level", community, "grid"), "grid"),
            (("remove-level", community, "community", "secretary", "street", "department"), "至少"),
            (("unset-deadline", community, "housing:street"), "housing"),
            (("unset-deadline", community, "housing"), "CATEGORY:LEVEL"),
        )
        for args, words in refusals:
            code, out = await invoke("ladder", *args)
            assert code == 2 and words in out, (args, code, out)
        assert len(await _versions(store, community)) == len(versions), "a refusal records nothing"

        _, h2 = await open_ticket(ts_env.client, complaint(community, building="1"), task_queue=task_queue)
        two = await ticket_until(h2, lambda t: t.current is not None, "assigned")
        assert [lv.key for lv in two.levels] == ["community", "secretary", "street", "department"]
        await ts_env.sleep(one.current.ack_due - one.current.assigned_at + timedelta(minutes=1))
        again = await ticket_until(h1, lambda t: len(t.assignments) == 2, "the first ticket escalates from its grid")
        assert again.levels == one.levels and again.current.level_key == "community", \
            "a running ticket keeps its own ladder: next its community, not the secretary"
        for h in (h1, h2):
            await h.terminate("test done")
