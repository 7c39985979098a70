"""A community's structure as events: the point-in-time fold ("whose grid was building 12 in March"), the
commands' refusals, the ladder's versions and the import of a grid file (every problem at once)."""

from __future__ import annotations

from datetime import datetime

import pytest

from domain.ladders import LadderVersion, default_version
from domain.legal_calendar import BEIJING
from domain.structure import (
    BuildingAssigned,
    CommunityDefined,
    GridDefined,
    PartyOrgDefined,
    Structure,
    WorkerAssigned,
    WorkerUnassigned,
    evolve,
    fold,
    structure_event_from_dict,
)
from domain.structure_commands import (
    StructureError,
    assign_building,
    assign_worker,
    define_grid,
    define_party_org,
    retire_grid,
    version_ladder,
)
from domain.structure_import import StructureImportError, plan_import
from tests.texts import en, zh


def at(month: int, day: int = 1, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=BEIJING)


BY = "committee 李书记"


def history() -> list:
    return [
        CommunityDefined(at=at(1), by=BY, community="xfl", name="幸福里社区", street="jc"),
        GridDefined(at=at(1), by=BY, code="XFL-01", name="一网格"),
        GridDefined(at=at(1), by=BY, code="XFL-02", name="二网格"),
        BuildingAssigned(at=at(1), by=BY, building="12", grid="XFL-01"),
        BuildingAssigned(at=at(1), by=BY, building="13", grid="XFL-01"),
        WorkerAssigned(at=at(1), by=BY, grid="XFL-01", role="grid_worker", person="王网格"),
        # 3 April: building 12 moves to grid 2; 王网格 leaves, 钱网格 takes grid 1 on 10 April.
        BuildingAssigned(at=at(4, 3), by=BY, building="12", grid="XFL-02"),
        WorkerUnassigned(at=at(4, 10), by=BY, grid="XFL-01", role="grid_worker", person="王网格", reason="调岗"),
        WorkerAssigned(at=at(4, 10), by=BY, grid="XFL-01", role="grid_worker", person="钱网格"),
        # Building 13's entrance 2 goes to grid 2 in May: the building is split from then on.
        BuildingAssigned(at=at(5, 1), by=BY, building="13", entrance="2", grid="XFL-02"),
    ]


def test_whose_grid_was_building_12_in_march() -> None:
    s = fold(history())
    assert s.grid_of("12", at=at(3, 15)) == "XFL-01"
    assert s.grid_of("12", at=at(4, 2, 23)) == "XFL-01", "the day before the move"
    assert s.grid_of("12", at=at(4, 3)) == "XFL-02", "from the instant of the move"
    assert s.grid_of("12") == "XFL-02", "now"
    assert s.grid_of("12", at=at(1, 1, 8)) is None, "before it was placed"
    assert s.grid_of("99") is None


def test_workers_and_split_buildings_at_a_point_in_time() -> None:
    s = fold(history())
    assert [t.person for t in s.workers("XFL-01", at(3, 15))] == ["王网格"]
    assert [t.person for t in s.workers("XFL-01", at(4, 10))] == ["钱网格"]
    assert [t.person for t in s.workers("XFL-01")] == ["钱网格"]
    assert s.grid_of("13", at=at(4, 20)) == "XFL-01"
    assert s.grid_of("13", "2") == "XFL-02" and s.grid_of("13", "1") == "XFL-01"
    assert s.grid_of("13") is None and s.grids_of("13") == ("XFL-01", "XFL-02"), "split: no single grid"


def test_fold_equals_step_by_step_evolve() -> None:
    events = history()
    stepwise = Structure()
    for event in events:
        before = stepwise
        stepwise = evolve(stepwise, event)
        assert before is not stepwise
    assert stepwise == fold(events)
    assert fold(events[:3]).placements == [], "an earlier state is untouched by later events"


def test_events_round_trip_through_json() -> None:
    for event in history():
        back = structure_event_from_dict(event.type, event.model_dump(mode="json"))
        assert back == event


def test_commands_refuse_with_what_to_do() -> None:
    s = fold(history())
    with pytest.raises(StructureError) as caught:
        define_grid(s, "xfl-3", "三网格", at(6), BY)
    assert "JC-03-07" in zh(caught.value)
    with pytest.raises(StructureError) as caught:
        assign_building(s, "20", "", "XFL-09", at(6), BY)
    assert "XFL-09" in zh(caught.value) and "define it first" in en(caught.value)
    with pytest.raises(StructureError) as caught:
        retire_grid(s, "XFL-02", "合并", at(6), BY)
    assert "12" in zh(caught.value), "names the building still in it"
    assert assign_building(s, "12", "", "XFL-02", at(6), BY) == [], "already there: nothing to record"
    assert assign_worker(s, "XFL-01", "grid_worker", "钱网格", at(6), BY) == []
    with pytest.raises(StructureError):
        assign_worker(s, "XFL-01", "building_head", "赵楼长", at(6), BY, building="12")  # 12 is in grid 2 now


def test_a_retired_code_is_never_reused() -> None:
    s = fold([*history()[:3], GridDefined(at=at(1), by=BY, code="XFL-03", name="三网格")])
    retired = fold(retire_grid(s, "XFL-03", "合并到一网格", at(2), BY), s)
    assert retired.grids["XFL-03"].retired_at == at(2)
    with pytest.raises(StructureError) as caught:
        define_grid(retired, "XFL-03", "新三网格", at(3), BY)
    assert "never reused" in en(caught.value)


def test_party_chain_branch_group_household() -> None:
    s = fold(history())
    branch = PartyOrgDefined(at=at(2), by=BY, org_id="branch:XFL-01", kind="grid_branch", name="一网格党支部",
                             grid="XFL-01")
    s = fold(define_party_org(s, branch), s)
    group = PartyOrgDefined(at=at(2), by=BY, org_id="group:13", kind="building_group", name="13号楼党小组",
                            parent="branch:XFL-01", building="13")
    s = fold(define_party_org(s, group), s)
    home = PartyOrgDefined(at=at(2), by=BY, org_id="household:13-1-301", kind="member_household",
                           name="党员中心户", parent="group:13", room="13-1-301")
    s = fold(define_party_org(s, home), s)
    assert [o.kind for o in s.party_chain("household:13-1-301")] == ["member_household", "building_group",
                                                                     "grid_branch"]
    orphan = home.model_copy(update={"org_id": "household:x", "parent": "branch:XFL-01"})
    with pytest.raises(StructureError) as caught:
        define_party_org(s, orphan)
    assert "building party group" in en(caught.value)


def test_ladder_versions_keep_their_time() -> None:
    s = fold(history())
    first = version_ladder(s, default_version("xfl"), at(2), BY)
    s = fold(first, s)
    assert s.ladder_at().version == 1
    faster = LadderVersion.model_validate({**default_version("xfl").model_dump(),
                                           "deadlines": {"housing": {"street": {"ack": "PT4H", "resolve": "3wd"}}}})
    s = fold(version_ladder(s, faster, at(5), BY), s)
    assert s.ladder_at(at(3)).version == 1 and s.ladder_at(at(5)).version == 2 and s.ladder_at().version == 2
    assert version_ladder(s, s.ladder_at().model_copy(update={"version": 7}), at(6), BY) == [], "same: not again"
    bad = LadderVersion.model_validate({**default_version("xfl").model_dump(),
                                        "deadlines": {"housing": {"nowhere": {"ack": "soon"}}}})
    with pytest.raises(StructureError) as caught:
        version_ladder(s, bad, at(6), BY)
    assert "nowhere" in en(caught.value) and "soon" in en(caught.value)


def _csv(*lines: str) -> bytes:
    header = "社区,社区名称,网格编号,网格名称,楼栋,单元,网格员,楼栋长,网格党支部,楼栋党小组,党员中心户"
    return ("\r\n".join((header, *lines)) + "\r\n").encode()


def test_import_reports_every_problem_at_once() -> None:
    data = _csv("xfl,幸福里,XFL-01,一网格,1,,王网格,,,,",
                "xfl,幸福里,xfl-01,一网格,2,,,,,,",
                "xfl,幸福里,XFL-01,壹网格,3,,,,,,",
                "xfl,幸福里,XFL-02,二网格,1,,,,,,",
                ",幸福里,XFL-02,二网格,4,,,,,小组,")
    with pytest.raises(StructureImportError) as caught:
        plan_import(data, "grids.csv", {}, street="jc", at=at(1), by=BY)
    found = {(i.row, i.code) for i in caught.value.issues}
    assert {(3, "grid-code"), (6, "empty"), (6, "party-chain")} <= found
    with pytest.raises(StructureImportError) as caught:
        plan_import(_csv("xfl,幸福里,XFL-01,一网格,1,,,,,,", "xfl,幸福里,XFL-01,壹网格,3,,,,,,",
                         "xfl,幸福里,XFL-02,二网格,1,,,,,,"), "grids.csv", {}, street="jc", at=at(1), by=BY)
    found = {(i.row, i.code) for i in caught.value.issues}
    assert found == {(3, "grid-name"), (4, "duplicate-building")}
    assert "第 2 行" in zh(caught.value)


def test_import_then_again_records_only_the_changes() -> None:
    data = _csv("xfl,幸福里,XFL-01,一网格,1,,王网格、钱网格,李楼长,一网格党支部,1号楼党小组,1-1-101、1-2-302",
                "xfl,幸福里,XFL-01,一网格,2,1,王网格,,,,",
                "xfl,幸福里,XFL-02,二网格,2,2,孙网格,,,,",
                "hxy,和谐园,HXY-01,,1,,,,,,")
    plan = plan_import(data, "grids.csv", {}, street="jc", at=at(1), by=BY)
    assert (plan.communities, plan.grids, plan.buildings) == (2, 3, 3)
    xfl = fold(plan.events["xfl"])
    assert xfl.name == "幸福里" and xfl.street == "jc"
    assert xfl.grid_of("2", "1") == "XFL-01" and xfl.grid_of("2", "2") == "XFL-02"
    assert {t.person for t in xfl.workers("XFL-01")} == {"王网格", "钱网格"}
    assert [t.person for t in xfl.workers("XFL-01", role="building_head")] == ["李楼长"]
    assert len(xfl.party_chain("household:1-2-302")) == 3
    assert fold(plan.events["hxy"]).grids["HXY-01"].name == "HXY-01"
    again = plan_import(data, "grids.csv", {"xfl": xfl, "hxy": fold(plan.events["hxy"])}, street="jc",
                        at=at(2), by=BY)
    assert again.events == {}, "nothing changed: nothing to record"
    moved = _csv("xfl,幸福里,XFL-02,二网格,1,,王网格,,,,")
    change = plan_import(moved, "grids.csv", {"xfl": xfl}, street="jc", at=at(3), by=BY).events["xfl"]
    assert [e.type for e in change] == ["BuildingAssigned", "WorkerAssigned"]
    after = fold(change, xfl)
    assert after.grid_of("1", at=at(2)) == "XFL-01" and after.grid_of("1") == "XFL-02"


def test_import_bounds() -> None:
    big = _csv(*[f"xfl,幸福里,XFL-01,一网格,{n},,,,,," for n in range(50_001)])
    with pytest.raises(StructureImportError) as caught:
        plan_import(big, "grids.csv", {}, street="jc", at=at(1), by=BY)
    assert caught.value.issues[0].code == "too-many-rows"
    long_cell = _csv("xfl,幸福里,XFL-01,一网格,1,,," + "长" * 201 + ",,,")
    with pytest.raises(StructureImportError) as caught:
        plan_import(long_cell, "grids.csv", {}, street="jc", at=at(1), by=BY)
    assert caught.value.issues[0].code == "cell-too-long"


def test_import_from_xlsx_and_a_zip_that_is_no_workbook() -> None:
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in (["社区", "网格编号", "网格名称", "楼栋", "单元", "网格员"],
                ["xfl", "XFL-01", "一网格", 1, None, "王网格"], ["xfl", "XFL-02", "二网格", 2, 1, "钱网格"]):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    plan = plan_import(out.getvalue(), "grids.xlsx", {}, street="jc", at=at(1), by=BY)
    s = fold(plan.events["xfl"])
    assert s.grid_of("1") == "XFL-01" and s.grid_of("2", "1") == "XFL-02", "Excel's 1 is building '1', not 1.0"
    with pytest.raises(StructureImportError) as caught:
        plan_import(b"PK\x03\x04 not a workbook", "grids.xlsx", {}, street="jc", at=at(1), by=BY)
    assert caught.value.issues and "grids.xlsx" in zh(caught.value)
