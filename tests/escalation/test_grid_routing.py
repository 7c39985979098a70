"""Routing by the community's structure (issue 19), on the time-skipping server with the real activities and
PostgreSQL: a complaint about a building goes to that building's grid, a report naming only a room finds its
building on the roll and reaches the grid's worker, the ticket keeps the ladder version it started with, and
书记直通车 starts with the party secretary, skipping the grid."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from domain.events import Question
from domain.ladders import Deadline, LadderVersion, default_version
from domain.roll import Roll, Room, Scope
from tests.escalation.conftest import ticket_until
from tests.workflows.conftest import running_worker, save_history
from workflows.escalation import TicketAction
from yishi.services import structure
from yishi.services.accounts import Account
from yishi.services.deliberations import DeliberationSpec, register, store_roll
from yishi.services.escalations import RefusedError, TicketRequest, account_orgs, act, inbox, open_ticket
from yishi.web.ladder import edited

BY = "cli 测试"


def grid_file(community: str) -> bytes:
    rows = ["社区,社区名称,网格编号,网格名称,楼栋,单元,地址,网格员",
            f"{community},幸福里,XF-01-01,一网格,1,,幸福路1号楼,王网格-{community}",
            f"{community},幸福里,XF-01-01,一网格,2,1,幸福路2号楼,王网格-{community}",
            f"{community},幸福里,XF-01-02,二网格,2,2,幸福路2号楼,钱网格-{community}",
            f"{community},幸福里,XF-01-02,二网格,3,,幸福路3号楼,钱网格-{community}"]
    return ("\r\n".join(rows) + "\r\n").encode()


async def structured(store, pool) -> str:
    community = f"xf{uuid.uuid4().hex[:6]}"
    await structure.import_grids(store, pool, grid_file(community), "grids.csv", street="jc", by=BY,
                                 at=datetime.now(UTC) - timedelta(days=1))
    return community


def complaint(community: str, **extra: object) -> TicketRequest:
    return TicketRequest(**{"community": community, "category": "urban_management", "subject": "楼道堆物",
                            "initiator": "O-1", "initiator_kind": "owner", **extra})  # type: ignore[arg-type]


async def test_a_complaint_goes_to_its_buildings_grid(ts_env, store, pool, task_queue) -> None:
    community = await structured(store, pool)
    async with running_worker(ts_env, store, pool, task_queue):
        tid, handle = await open_ticket(ts_env.client, complaint(community, building="3"), task_queue=task_queue)
        state = await ticket_until(handle, lambda t: t.current is not None, "the first level")
        assert (state.current.level_key, state.current.org) == ("grid", f"grid:{community}:XF-01-02")
        assert (state.grid, state.building, state.routed_by, state.channel) == ("XF-01-02", "3", "building",
                                                                                "resident")
        split, handle2 = await open_ticket(ts_env.client, complaint(community, building="2", entrance="1"),
                                           task_queue=task_queue)
        state2 = await ticket_until(handle2, lambda t: t.current is not None, "assigned")
        assert state2.current.org == f"grid:{community}:XF-01-01", "entrance 1 of building 2 is grid 1's"
        lost, handle3 = await open_ticket(ts_env.client, complaint(community, building="99"), task_queue=task_queue)
        state3 = await ticket_until(handle3, lambda t: t.current is not None, "assigned")
        assert (state3.current.level_key, state3.routed_by) == ("community", "none"), \
            "no grid for the building: the community takes it, not a grid no one works for"
        worker = Account(1, f"钱网格-{community}", "grid_worker", community)
        orgs = await account_orgs(pool, worker)
        assert f"grid:{community}:XF-01-02" in orgs
        assert tid in {r["ticket_id"] for r in await inbox(pool, orgs)}
        assert split not in {r["ticket_id"] for r in await inbox(pool, orgs)}
        await act(ts_env.client, tid, "acknowledge", TicketAction(role="grid_worker", actor=worker.name,
                                                                  org=f"grid:{community}:XF-01-02"))
        for h in (handle, handle2, handle3):
            await h.terminate("test done")


async def test_a_report_on_a_room_reaches_its_grid_worker_through_the_roll(ts_env, store, pool, task_queue) -> None:
    community = await structured(store, pool)
    rooms = (Room(room_id="3-1-502", building="3", entrance="1", floor="5", area_m2=Decimal("88.5"), owner_id="O-35",
                  owner_name="业主"), Room(room_id="1-1-101", building="1", entrance="1", floor="1",
                                           area_m2=Decimal("70"), owner_id="O-11", owner_name="业主"))
    roll = Roll(rooms=rooms, source="test")
    now = datetime.now(UTC)
    spec = DeliberationSpec(procedure="test", title="t", rule_id="cc278-ordinary", scope=Scope(),
                            question=Question(text_zh="?", text_en="?"), opens_at=now,
                            closes_at=now + timedelta(days=1), community=community)
    await register(pool, f"d-{community}", spec, await store_roll(pool, roll))
    async with running_worker(ts_env, store, pool, task_queue):
        tid, handle = await open_ticket(ts_env.client, complaint(community, room="3-1-502", channel="grid_report",
                                                                 initiator="钱网格", initiator_kind="committee"),
                                        task_queue=task_queue)
        state = await ticket_until(handle, lambda t: t.current is not None, "assigned")
        assert (state.current.org, state.building, state.routed_by) == (f"grid:{community}:XF-01-02", "3", "room")
        assert state.channel == "grid_report"
        by_owner, handle2 = await open_ticket(ts_env.client, complaint(community, initiator="O-11"),
                                              task_queue=task_queue)
        state2 = await ticket_until(handle2, lambda t: t.current is not None, "assigned")
        assert (state2.current.org, state2.routed_by) == (f"grid:{community}:XF-01-01", "owner")
        worker = Account(2, f"钱网格-{community}", "grid_worker", community)
        rows = await inbox(pool, await account_orgs(pool, worker))
        assert [r["ticket_id"] for r in rows] == [tid], "the worker of grid 2 sees the room's report, not grid 1's"
        for h in (handle, handle2):
            await h.terminate("test done")


async def test_a_ticket_keeps_the_ladder_version_it_started_with(ts_env, store, pool, task_queue) -> None:
    community = await structured(store, pool)
    base = default_version(community)

    def with_grid_ack(ack: str) -> LadderVersion:
        return base.model_copy(update={"deadlines": {"urban_management": {"grid": Deadline(ack=ack)}}})

    at = datetime.now(UTC) - timedelta(hours=1)
    await structure.change(store, pool, community, structure.ladder(with_grid_ack("PT2H"), at, BY))
    async with running_worker(ts_env, store, pool, task_queue):
        first, h1 = await open_ticket(ts_env.client, complaint(community, building="1"), task_queue=task_queue)
        one = await ticket_until(h1, lambda t: t.current is not None, "assigned")
        assert one.ladder_version == 1 and one.current.ack_due - one.current.assigned_at == timedelta(hours=2)
        await structure.change(store, pool, community, structure.ladder(with_grid_ack("PT4H"),
                                                                        datetime.now(UTC), BY))
        second, h2 = await open_ticket(ts_env.client, complaint(community, building="1"), task_queue=task_queue)
        two = await ticket_until(h2, lambda t: t.current is not None, "assigned")
        assert two.ladder_version == 2 and two.current.ack_due - two.current.assigned_at == timedelta(hours=4)
        await ts_env.sleep(timedelta(hours=2, minutes=1))
        again = await ticket_until(h1, lambda t: len(t.assignments) == 2, "the first ticket escalates at 2 h")
        assert again.ladder_version == 1 and again.levels == one.levels, "the later version changed nothing"
        for h in (h1, h2):
            await h.terminate("test done")


async def test_a_ticket_keeps_its_levels_when_the_console_removes_and_adds_levels(ts_env, store, pool,
                                                                                    task_queue) -> None:
    """The console's edit (yishi/web/ladder.py ``edited``, the route's own function) removes the grid level and adds
    the party secretary after the community: a new ticket climbs the new levels; a running one keeps its own and
    still escalates from its grid on its grid deadline."""
    community = await structured(store, pool)
    async with running_worker(ts_env, store, pool, task_queue):
        first, h1 = await open_ticket(ts_env.client, complaint(community, building="1"), task_queue=task_queue)
        one = await ticket_until(h1, lambda t: t.current is not None, "assigned")
        assert one.ladder_version == 0 and [lv.key for lv in one.levels] == ["grid", "community", "street",
                                                                             "department"]
        spec = edited(default_version(community), {"remove-grid": "1", "add_kind": "secretary",
                                                   "add_after": "community", "add_ack": "PT8H"}, community)
        await structure.change(store, pool, community, structure.ladder(spec, datetime.now(UTC), BY))
        second, h2 = await open_ticket(ts_env.client, complaint(community, building="1"), task_queue=task_queue)
        two = await ticket_until(h2, lambda t: t.current is not None, "assigned")
        assert two.ladder_version == 1 and [lv.key for lv in two.levels] == ["community", "secretary", "street",
                                                                             "department"]
        assert (two.current.level_key, two.current.org) == ("community", f"committee:{community}")
        await ts_env.sleep(one.current.ack_due - one.current.assigned_at + timedelta(minutes=1))
        again = await ticket_until(h1, lambda t: len(t.assignments) == 2, "the first ticket escalates from its grid")
        assert again.ladder_version == 0 and again.levels == one.levels, "the later version changed nothing"
        assert again.current.level_key == "community", "the next level of its own ladder, not the secretary"
        for h in (h1, h2):
            await h.terminate("test done")


async def test_secretary_direct_line_skips_the_grid(ts_env, store, pool, task_queue) -> None:
    community = await structured(store, pool)
    async with running_worker(ts_env, store, pool, task_queue):
        tid, handle = await open_ticket(ts_env.client, complaint(community, building="1", channel="secretary"),
                                        task_queue=task_queue)
        state = await ticket_until(handle, lambda t: t.current is not None, "assigned")
        assert (state.current.level_key, state.current.org) == ("secretary", f"secretary:{community}")
        assert [lv.key for lv in state.levels] == ["secretary", "street", "department"]
        assert state.channel == "secretary" and state.grid == "XF-01-01", "the grid is still recorded"
        try:
            await act(ts_env.client, tid, "acknowledge", TicketAction(role="committee", actor="委员",
                                                                      org=f"secretary:{community}"))
            raise AssertionError("a committee member is not the secretary")
        except RefusedError as exc:
            assert "party_secretary" in str(exc)
        await act(ts_env.client, tid, "acknowledge", TicketAction(role="party_secretary", actor="李书记",
                                                                  org=f"secretary:{community}"))
        async with pool.acquire() as conn:
            row = await conn.fetchrow("SELECT channel, grid, org FROM escalations WHERE ticket_id = $1", tid)
        assert dict(row) == {"channel": "secretary", "grid": "XF-01-01", "org": f"secretary:{community}"}
        await act(ts_env.client, tid, "resolve", TicketAction(role="party_secretary", actor="李书记",
                                                              org=f"secretary:{community}", outcome="resolved",
                                                              text="已协调物业清理"))
        await act(ts_env.client, tid, "follow_up", TicketAction(role="owner", actor="O-1", outcome="satisfied"))
        assert (await handle.result()).status == "closed"
        await save_history(handle, "escalation_grid_routing_secretary")
